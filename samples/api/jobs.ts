/**
 * A pipeline worker: fire-and-forget image jobs, spread over however many workers run.
 */

/** Which image, at which sizes. */
export interface ResizeJob {
  imageId: string;
  /**
   * Widths in pixels.
   * @minItems 1
   */
  widths: number[];
}

/**
 * Image jobs. Nothing comes back: a worker logs what fails.
 * @pipeline
 */
export interface Thumbnails {
  /** Renders the thumbnails of one image. */
  render(job: ResizeJob): void;
  /** Forgets an image's cached thumbnails. */
  purge(imageId: string, ...widths: number[]): void;
}
