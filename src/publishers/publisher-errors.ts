/** The key offered for enrolment cannot be a publisher key; `message` says why. Fix and resend. */
export class InvalidPublisherKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPublisherKeyError';
  }
}

/** This fingerprint is already enrolled: nothing to do. */
export class PublisherAlreadyEnrolledError extends Error {
  constructor(readonly fingerprint: string) {
    super(`publisher ${fingerprint} is already enrolled`);
    this.name = 'PublisherAlreadyEnrolledError';
  }
}

/** No enrolled publisher has this fingerprint. */
export class PublisherNotEnrolledError extends Error {
  constructor(readonly fingerprint: string) {
    super(`no enrolled publisher has the fingerprint ${fingerprint}`);
    this.name = 'PublisherNotEnrolledError';
  }
}
