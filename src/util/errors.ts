/**
 * vigil's error types. Every error has a stable `code`, a message in words an
 * operator can act on, and keeps what caused it as `cause`. The CLI maps them
 * to exit codes (see cli/exit-codes.ts).
 */
export class VigilError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The monitor refused or failed a control request; `code` is the monitor's (control/client.ts). */
export class ControlError extends VigilError {
  constructor(code: string, message: string) {
    super(code, message);
  }
}

/** The command line was wrong: exit 2. */
export class UsageError extends VigilError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/** One problem in a spec, with the path of the field. */
export interface SpecIssue {
  path: string;
  message: string;
}

/** A spec was refused; nothing was created. */
export class SpecError extends VigilError {
  readonly file: string | null;
  readonly issues: SpecIssue[];
  constructor(file: string | null, issues: SpecIssue[]) {
    const where = file ? `${file}: ` : '';
    super('ERR_SPEC', issues.map((i) => `${where}${i.path ? `${i.path}: ` : ''}${i.message}`).join('\n'));
    this.file = file;
    this.issues = issues;
  }
}

/** A call to the host failed: which operation, on what, and the errno name. */
export class HostError extends VigilError {
  readonly op: string;
  readonly path: string;
  readonly errno: string;
  constructor(op: string, path: string, errno: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_HOST', `${op}${path ? ` '${path}'` : ''}: ${errno}${detail ? ` (${detail})` : ''}`, options);
    this.op = op;
    this.path = path;
    this.errno = errno;
  }

  static from(op: string, path: string, err: unknown): HostError {
    const e = err as NodeJS.ErrnoException;
    // Node's message repeats the code and the path ("ENOENT: no such file or directory, open '/x'"): keep the words.
    const words = /^[A-Z0-9]+: ([^,]*)/.exec(e?.message ?? '')?.[1] ?? e?.message ?? String(err);
    return new HostError(op, path, e?.code ?? 'EUNKNOWN', words, { cause: err });
  }
}

/** The native helper failed before the command ran; `exitCode` follows its table. */
export class HelperError extends VigilError {
  readonly step: string;
  readonly errno: string;
  readonly path: string;
  readonly exitCode: number;
  constructor(step: string, errno: string, path: string, message: string, exitCode: number) {
    super('ERR_HELPER', `${step}${path ? ` '${path}'` : ''}: ${errno} (${message})`);
    this.step = step;
    this.errno = errno;
    this.path = path;
    this.exitCode = exitCode;
  }
}

/** The container or process is not in a state that allows the request. */
export class StateError extends VigilError {
  constructor(message: string) {
    super('ERR_STATE', message);
  }
}

export class NotFoundError extends VigilError {
  constructor(what: string) {
    super('ERR_NOT_FOUND', what);
  }
}

/** The host lacks something vigil needs. */
export class UnsupportedError extends VigilError {
  readonly feature: string;
  constructor(feature: string, message: string) {
    super('ERR_UNSUPPORTED', message);
    this.feature = feature;
  }
}
