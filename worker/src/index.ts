/**
 * The worker: runs asynchronous invocations taken from the durable queue, retries platform
 * faults, dead-letters what used up its attempts and hands final results to callbacks.
 * The loop and its pieces are added here; `callbacks/` holds the result delivery.
 */
export {};
