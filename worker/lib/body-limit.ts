import { bodyLimit } from "hono/body-limit";
import { ApiError } from "./errors";

/** Refuses a body over `maxSize` bytes with 413 payload_too_large, in the contract's error shape. */
export const limitBody = (maxSize: number) =>
  bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiError(413, "payload_too_large", `Bodies are limited to ${maxSize} bytes.`);
    },
  });
