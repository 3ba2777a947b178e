import { get } from 'node:http';

export interface ProbeSettings {
  periodMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
}

/** One HTTP GET like the kubelet's httpGet probe: 200–399 within the timeout is a success. */
function probeOnce(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.once('timeout', () => req.destroy(new Error('probe timeout')));
    req.once('error', () => resolve(false));
  });
}

/**
 * Probes one endpoint's readiness URL every `periodMs` and flips its state after `failureThreshold`
 * failures / `successThreshold` successes in a row, like the kubelet's readiness probe. The first probe
 * lands at a random offset inside the first period, as the kubelet's do.
 */
export class ReadinessProber {
  readonly #url: string;
  readonly #settings: ProbeSettings;
  readonly #onChange: (ready: boolean) => void;
  #ready = false;
  #successes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(
    url: string,
    settings: ProbeSettings,
    onChange: (ready: boolean) => void,
    random: () => number,
  ) {
    this.#url = url;
    this.#settings = settings;
    this.#onChange = onChange;
    this.#schedule(Math.floor(random() * settings.periodMs));
  }

  get ready(): boolean {
    return this.#ready;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.#tick(), delayMs);
  }

  async #tick(): Promise<void> {
    const startedAt = performance.now();
    const ok = await probeOnce(this.#url, this.#settings.timeoutMs);
    if (this.#stopped) return;
    if (ok) {
      this.#failures = 0;
      this.#successes += 1;
      if (!this.#ready && this.#successes >= this.#settings.successThreshold) {
        this.#ready = true;
        this.#onChange(true);
      }
    } else {
      this.#successes = 0;
      this.#failures += 1;
      if (this.#ready && this.#failures >= this.#settings.failureThreshold) {
        this.#ready = false;
        this.#onChange(false);
      }
    }
    this.#schedule(Math.max(0, this.#settings.periodMs - (performance.now() - startedAt)));
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
