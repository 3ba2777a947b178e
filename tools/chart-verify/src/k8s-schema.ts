/**
 * Offline Kubernetes API schemas: the models generated into @kubernetes/client-node from each
 * release's OpenAPI document. Their `attributeTypeMap`s list every field of every object with its
 * type, so walking a rendered manifest through them finds unknown fields (a typo, or a field the
 * cluster version does not have) and wrong types. Required fields and enum values are not in the
 * maps, so they are not checked here.
 */

export interface SchemaSource {
  /** The Kubernetes version `helm template --kube-version` gets. */
  kubeVersion: string;
  /** The npm alias and the client-node version behind it. */
  packageName: string;
  /** The `release-1.xx` the models were generated from (read from the package). */
  apiRelease: string;
}

interface Attribute {
  name: string;
  baseName: string;
  type: string;
  format?: string;
}

type Models = Record<string, { attributeTypeMap?: Attribute[] } | undefined>;

/** Kubernetes 1.29, 1.34 and 1.36, each checked against the models of that exact release. */
export const schemaSources: SchemaSource[] = [
  { kubeVersion: '1.29.0', packageName: 'k8s-models-129', apiRelease: 'release-1.29' },
  { kubeVersion: '1.34.0', packageName: 'k8s-models-134', apiRelease: 'v1.34.0' },
  { kubeVersion: '1.36.0', packageName: 'k8s-models-136', apiRelease: 'release-1.36' },
];

export async function loadModels(source: SchemaSource): Promise<Models> {
  const module = (await import(source.packageName)) as Models & { default?: Models };
  return module.default?.['V1Deployment'] ? module.default : module;
}

/** apps/v1 Deployment -> V1Deployment; autoscaling/v2 HorizontalPodAutoscaler -> V2HorizontalPodAutoscaler. */
export function modelName(apiVersion: string, kind: string): string {
  const version = apiVersion.split('/').pop() ?? '';
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

export function isKnownKind(models: Models, apiVersion: string, kind: string): boolean {
  return Array.isArray(models[modelName(apiVersion, kind)]?.attributeTypeMap);
}

/** Every problem in `object` as "path: what", empty when it validates. */
export function validateObject(models: Models, object: Record<string, unknown>): string[] {
  const apiVersion = String(object['apiVersion']);
  const kind = String(object['kind']);
  const name = modelName(apiVersion, kind);
  if (!isKnownKind(models, apiVersion, kind)) return [`${apiVersion} ${kind}: not a known API type`];
  const problems: string[] = [];
  check(models, name, undefined, object, kind, problems);
  return problems;
}

function check(
  models: Models,
  type: string,
  format: string | undefined,
  value: unknown,
  path: string,
  problems: string[],
): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (array) {
    if (!Array.isArray(value)) return void problems.push(`${path}: expected an array, got ${typeof value}`);
    value.forEach((item, i) => check(models, array[1] as string, undefined, item, `${path}[${i}]`, problems));
  } else if (map) {
    if (!isPlainObject(value)) return void problems.push(`${path}: expected a map, got ${typeof value}`);
    for (const [key, item] of Object.entries(value))
      check(models, map[1] as string, undefined, item, `${path}.${key}`, problems);
  } else if (type === 'string' || type === 'Date') {
    if (typeof value !== 'string') problems.push(`${path}: expected a string, got ${describe(value)}`);
  } else if (type === 'number') {
    if (typeof value !== 'number') problems.push(`${path}: expected a number, got ${describe(value)}`);
    else if ((format === 'int32' || format === 'int64') && !Number.isInteger(value))
      problems.push(`${path}: expected an integer, got ${value}`);
  } else if (type === 'boolean') {
    if (typeof value !== 'boolean') problems.push(`${path}: expected a boolean, got ${describe(value)}`);
  } else if (type === 'IntOrString') {
    if (typeof value !== 'string' && !Number.isInteger(value))
      problems.push(`${path}: expected an integer or a string, got ${describe(value)}`);
  } else if (type === 'object' || type === 'any') {
    return;
  } else {
    const attributes = models[type]?.attributeTypeMap;
    if (!attributes) return void problems.push(`${path}: no model for type ${type}`);
    if (!isPlainObject(value))
      return void problems.push(`${path}: expected an object (${type}), got ${describe(value)}`);
    for (const [key, item] of Object.entries(value)) {
      const attribute = attributes.find((a) => a.baseName === key);
      if (!attribute) problems.push(`${path}.${key}: unknown field (not in ${type})`);
      else check(models, attribute.type, attribute.format, item, `${path}.${key}`, problems);
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? 'an array' : `${typeof value} ${JSON.stringify(value)}`;
}
