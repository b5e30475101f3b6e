/**
 * An error the user can act on (bad input, missing run, missing cache...). The CLI prints its
 * message alone, without a stack trace, and exits with status 2. Name the file, key or value.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
