/** A field the caller got wrong, named by its path in the request, e.g. `document.severity`. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** The submission is malformed: fix the named fields and resubmit. */
export class InvalidSubmissionError extends Error {
  constructor(readonly problems: FieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'InvalidSubmissionError';
  }
}

/** No signature over these exact bytes verified with an enrolled, valid publisher key. */
export class UnauthenticatedSubmissionError extends Error {
  constructor(readonly problems: string[]) {
    super(`no valid signature by an enrolled publisher${problems.length ? `: ${problems.join('; ')}` : ''}`);
    this.name = 'UnauthenticatedSubmissionError';
  }
}

/** This id and revision already exist with other content, or the revision is not the newest. */
export class RevisionConflictError extends Error {
  constructor(message: string, readonly latestRevision: number) {
    super(message);
    this.name = 'RevisionConflictError';
  }
}

/** The submission waited for its missing signatures past its expiry: publish it as a new revision. */
export class HoldExpiredError extends Error {
  constructor(readonly id: string, readonly revision: number, readonly expiredAt: string) {
    super(`${id} revision ${revision} waited for signatures until ${expiredAt} and expired: sign and submit it again as a new revision`);
    this.name = 'HoldExpiredError';
  }
}

/** No held or accepted submission has this id (and revision). */
export class NoSuchSubmissionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NoSuchSubmissionError';
  }
}
