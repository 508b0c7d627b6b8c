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

/**
 * This id and revision already exist with other content, or the revision is not the one this id
 * takes next: resubmit as `expectedRevision` (the latest accepted plus one, or the revision that
 * is waiting for signatures).
 */
export class RevisionConflictError extends Error {
  constructor(message: string, readonly latestRevision: number, readonly expectedRevision: number = latestRevision + 1) {
    super(message);
    this.name = 'RevisionConflictError';
  }
}

/**
 * Another advisory id, accepted or waiting for signatures, has the same CSAF file name (ids that
 * differ only in case, or in `.` and `_`): the mirror could serve only one of them. Choose another id.
 */
export class AdvisoryIdCollisionError extends Error {
  constructor(readonly id: string, readonly existingId: string, readonly fileName: string) {
    super(`${id} would share the CSAF file name ${fileName} with the existing advisory ${existingId}: choose an id that differs by more than case, "." or "_"`);
    this.name = 'AdvisoryIdCollisionError';
  }
}

/** The submission waited for its missing signatures past its expiry: submit it again, as the same revision. */
export class HoldExpiredError extends Error {
  constructor(readonly id: string, readonly revision: number, readonly expiredAt: string) {
    super(`${id} revision ${revision} waited for signatures until ${expiredAt} and expired: sign it and submit it again as revision ${revision} (an expired revision gives its number back)`);
    this.name = 'HoldExpiredError';
  }
}

/** No held or accepted submission has this id (and revision). `field`: the request field that named it, if one did. */
export class NoSuchSubmissionError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = 'NoSuchSubmissionError';
  }
}

/**
 * The advisory was withdrawn by an accepted retraction: it takes no new revision and no second
 * retraction. Nothing to resubmit; a new advisory takes a new id.
 */
export class AdvisoryRetractedError extends Error {
  constructor(readonly id: string, readonly retraction: { id: string; revision: number }, readonly field: string) {
    super(`${id} was withdrawn by ${retraction.id} revision ${retraction.revision}: a retracted advisory takes no new revision or retraction; publish anything new under a new id`);
    this.name = 'AdvisoryRetractedError';
  }
}
