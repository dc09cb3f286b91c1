import { expect } from 'vitest';
import { StreamError } from '../../src/core/errors.js';

/** The error a promise rejects with; fails the test when it resolves or rejects with anything but a StreamError. */
export async function rejection(promise: Promise<unknown>): Promise<StreamError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StreamError);
  return error as StreamError;
}
