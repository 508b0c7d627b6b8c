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
