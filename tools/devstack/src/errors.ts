/** Every failure of the devstack itself (missing binaries, a server that will not start). */
export class DevstackError extends Error {
  readonly code: string;
  constructor(code: `TETHER_DEVSTACK_${string}`, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DevstackError';
    this.code = code;
  }
}
