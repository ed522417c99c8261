// Generated from gateway/openapi.json by sdk/scripts/generate.mjs (openapi-typescript): do not edit; run `npm run generate -w sdk`.
export interface paths {
    "/functions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List registered functions, ordered by id
         * @description Scope `functions` or `invoke`. A key limited to some functions sees only those (a page may then hold fewer than `limit`). An unknown or repeated query parameter is 400 FAAS_ERR_INVALID_QUERY.
         */
        get: operations["listFunctions"];
        put?: never;
        /**
         * Register a function
         * @description Scope `functions` (and, for a key limited to some functions, an id among them).
         */
        post: operations["createFunction"];
        delete?: never;
        options?: never;
        /** List registered functions, headers only */
        head: operations["listFunctionsHead"];
        patch?: never;
        trace?: never;
    };
    "/functions/{function_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read a registered function
         * @description Scope `functions` or `invoke`.
         */
        get: operations["getFunction"];
        put?: never;
        post?: never;
        /**
         * Remove a registered function
         * @description Scope `functions`. Its history stays until retention removes it.
         */
        delete: operations["deleteFunction"];
        options?: never;
        /** Read a registered function, headers only */
        head: operations["getFunctionHead"];
        /**
         * Change a registered function (JSON merge patch)
         * @description Scope `functions`. The change applies as a whole or not at all. The patch is sent as application/json or application/merge-patch+json (RFC 7396), the same JSON either way.
         */
        patch: operations["updateFunction"];
        trace?: never;
    };
    "/functions/{function_id}/invoke": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a registered function, or an ad-hoc SandboxConfig, and return its output (or queue it: Prefer: respond-async)
         * @description For a **registered** id the definition runs; the body is optional (no body, or an empty one, is an invocation without input) and may only be a RegisteredInvocation. For an **unregistered** id, a SandboxConfig (a body with an `image` field, validated as before) runs ad hoc when FAAS_ALLOW_ADHOC is on; an object without an `image` field, no body (or an empty one), or any object while ad-hoc requests are off is 404 FAAS_ERR_FUNCTION_NOT_FOUND. Whatever the id, a JSON body that is not an object (`null` included) is 400 FAAS_ERR_INVALID_REQUEST. Scope `invoke`. Every answer carries the invocation id (`x-faas-invocation-id`, and `invocation_id` in the body). With `Prefer: respond-async` the invocation is validated the same way, committed to the queue and answered 202 with its id and a `Location` to poll; a worker runs it (with retries of platform faults) and `GET /invocations/{invocation_id}` tells its state and, once done, its result.
         */
        post: operations["invokeFunction"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/functions/{function_id}/invocations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * A function's invocation history, newest first
         * @description Scope `history`. Works for ad-hoc ids too: an id nothing ran under has an empty history (200, never 404). An unknown or repeated query parameter is 400 FAAS_ERR_INVALID_QUERY.
         */
        get: operations["listInvocations"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** A function's invocation history, headers only */
        head: operations["listInvocationsHead"];
        patch?: never;
        trace?: never;
    };
    "/invocations/{invocation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One invocation: its history record and, for an asynchronous one, its state, attempts and result
         * @description Scope `history`. A key limited to some functions gets 403 for another function's invocation. An asynchronous invocation is here from its acceptance on.
         */
        get: operations["getInvocation"];
        put?: never;
        post?: never;
        /**
         * Cancel an asynchronous invocation
         * @description Scope `invoke`. A queued invocation never runs (200, `cancelled`); a running one is killed: 200 once it is `cancelled`, 202 if it still runs after 5 s (poll it). Cancelling a cancelled one answers it again (200). One that ended otherwise, or a synchronous one, is 409 FAAS_ERR_INVOCATION_FINISHED.
         */
        delete: operations["cancelInvocation"];
        options?: never;
        /** One invocation, headers only */
        head: operations["getInvocationHead"];
        patch?: never;
        trace?: never;
    };
    "/invocations/{invocation_id}/output": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The output the history kept of one invocation
         * @description Scope `history`.
         */
        get: operations["getInvocationOutput"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** The output of one invocation, headers only */
        head: operations["getInvocationOutputHead"];
        patch?: never;
        trace?: never;
    };
    "/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List dead letters, most recently dead first
         * @description Scope `history`. Asynchronous invocations that used up their attempts. A key limited to some functions sees only those (a page may then hold fewer than `limit`). An unknown or repeated query parameter is 400 FAAS_ERR_INVALID_QUERY.
         */
        get: operations["listDeadLetters"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** List dead letters, headers only */
        head: operations["listDeadLettersHead"];
        patch?: never;
        trace?: never;
    };
    "/dead-letters/{invocation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /**
         * Delete a dead letter
         * @description Scope `invoke`. It leaves the dead letters and its stored request is dropped; the invocation stays readable, as `failed`.
         */
        delete: operations["deleteDeadLetter"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/dead-letters/{invocation_id}/redrive": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Queue a dead letter again, with new attempts
         * @description Scope `invoke`. The invocation is queued again under its id with a new set of attempts (its function's `max_attempts`, or FAAS_ASYNC_MAX_ATTEMPTS), resolved against the definition registered when it runs. No body is needed; one is ignored. While FAAS_ASYNC_MAX_QUEUED invocations are waiting, it is 429 FAAS_ERR_QUEUE_FULL and stays dead.
         */
        post: operations["redriveDeadLetter"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * List API keys, oldest first
         * @description Scope `admin`. Every key created with `POST /keys`, revoked and expired ones included; the admin key is not one of them. Ordered by creation time, then id: a key created while a client pages comes on a later page, and a key revoked meanwhile stays in its place with `revoked_at` set. An unknown or repeated query parameter is 400 FAAS_ERR_INVALID_QUERY.
         */
        get: operations["listKeys"];
        put?: never;
        /**
         * Create an API key
         * @description Scope `admin`. The key is in this answer only.
         */
        post: operations["createKey"];
        delete?: never;
        options?: never;
        /** List API keys, headers only */
        head: operations["listKeysHead"];
        patch?: never;
        trace?: never;
    };
    "/keys/{key_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Read an API key
         * @description Scope `admin`.
         */
        get: operations["getKey"];
        put?: never;
        post?: never;
        /**
         * Revoke an API key
         * @description Scope `admin`. The key is refused from this moment on; it stays listed with `revoked_at` set. Revoking a revoked key is a 204 that changes nothing.
         */
        delete: operations["revokeKey"];
        options?: never;
        /** Read an API key, headers only */
        head: operations["getKeyHead"];
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Liveness: the process serves HTTP */
        get: operations["health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** Liveness, headers only */
        head: operations["healthHead"];
        patch?: never;
        trace?: never;
    };
    "/ready": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Readiness: the default executor's backend answers and the server is not draining */
        get: operations["ready"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** Readiness, headers only */
        head: operations["readyHead"];
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics (text exposition format; names and labels in docs/metrics.md)
         * @description Scope `metrics`.
         */
        get: operations["metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** Prometheus metrics, headers only */
        head: operations["metricsHead"];
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: operations["openapi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        /** This document's headers */
        head: operations["openapiHead"];
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        SandboxConfig: {
            /** @description Image to run, e.g. faas/busybox:latest: [registry/]name[:tag][@sha256:digest], lowercase name components. The repository name (without tag and digest) may be at most 255 characters once the engine's default registry is added: `docker.io/` when the first component is not a registry host, and `library/` too for a one-component name (so at most 245 and 237 characters as written); longer names get 400 FAAS_ERR_INVALID_IMAGE. `oci:<ref>` names an image of the oci executor's OCI image layout (FAAS_OCI_IMAGE_LAYOUT) by its ref name there; the other executors refuse it with 422 FAAS_ERR_IMAGE_NOT_FOUND. */
            image: string;
            /** @description Program and arguments (at most 128 KiB in all); run directly, not through a shell. Arguments after the program may be empty. No NUL characters or lone UTF-16 surrogates. */
            command: [
                string,
                ...string[]
            ];
            /** @description KEY=VALUE strings (at most 32 KiB each, 256 KiB in all). No NUL characters or lone UTF-16 surrogates. */
            env_vars?: string[] | null;
            /**
             * Format: byte
             * @description Standard base64 (RFC 4648, with padding, canonical) of the bytes piped to stdin; at most FAAS_MAX_PAYLOAD_BYTES once decoded.
             */
            payload_base64?: string | null;
            /** @description Kill the function after this long. The operator's FAAS_MAX_TIMEOUT_MS (at most 3600000) caps it: above that is a 400. Null or absent: FAAS_DEFAULT_TIMEOUT_MS. */
            timeout_ms?: number | null;
            /**
             * @description Executor override; must be in FAAS_ALLOWED_EXECUTORS. Null or absent: FAAS_EXECUTOR_TYPE.
             * @enum {string|null}
             */
            executor?: "docker" | "gvisor" | "qemu" | "firecracker" | "oci" | null;
            /** @description Lower the sandbox's resources. Each is capped by the operator's maximum (FAAS_MAX_MEMORY_MB, FAAS_MAX_CPUS, FAAS_MAX_PIDS): above it is a 400. The bounds of memory_mb and pids here are the highest maxima an operator can set. */
            limits?: {
                memory_mb?: number;
                /** @description At most the operator's FAAS_MAX_CPUS (by default, and never more than, the host's cores). */
                cpus?: number;
                pids?: number;
            } | null;
            /** @description With `Prefer: respond-async`: where the final state and result are POSTed, signed (docs/API.md "Callbacks"); it wins over the function's own `callback_url`. An absolute http or https URL of at most 2048 characters, without credentials; an address the callback rules refuse is 400 FAAS_ERR_INVALID_CALLBACK. On a synchronous call it is 400 FAAS_ERR_INVALID_REQUEST with `field` callback_url. */
            callback_url?: string;
        };
        /** @description The body of an invocation of a registered function: the definition fixes the rest. Every field may only narrow it: `timeout_ms` and each limit at most the function's own (its definition's value, or the platform default where it sets none), and `env_vars` may name only variables of the function's `allowed_env_vars`, never one the definition sets (in `env_vars` or `secrets`) nor a start-up variable (LD_*, BASH_ENV, NODE_OPTIONS, PYTHON*, ...); otherwise, and for `image`, `command` or `executor` present at all, 400 FAAS_ERR_FIELD_NOT_ALLOWED. */
        RegisteredInvocation: {
            /**
             * Format: byte
             * @description Standard base64 (RFC 4648, with padding, canonical) of the bytes piped to stdin; at most FAAS_MAX_PAYLOAD_BYTES once decoded.
             */
            payload_base64?: string | null;
            /** @description Extra KEY=VALUE variables, each named by the function's `allowed_env_vars` (none by default), none of them a name the definition sets (in `env_vars` or `secrets`) nor a start-up variable (LD_*, BASH_ENV, ENV, PATH, NODE_OPTIONS, PYTHON*, PERL*, OPENSSL_*, TAR_OPTIONS and the rest of docs/API.md's list): 400 FAAS_ERR_FIELD_NOT_ALLOWED. With the definition's own env_vars (not its secrets, which come on top), at most 128 entries and 256 KiB in all (400 FAAS_ERR_INVALID_ENV): whether they fit never depends on the secrets. */
            env_vars?: string[] | null;
            /** @description Kill the function after this long. The operator's FAAS_MAX_TIMEOUT_MS (at most 3600000) caps it: above that is a 400. Null or absent: FAAS_DEFAULT_TIMEOUT_MS. */
            timeout_ms?: number | null;
            /** @description Lower the sandbox's resources. Each is capped by the operator's maximum (FAAS_MAX_MEMORY_MB, FAAS_MAX_CPUS, FAAS_MAX_PIDS): above it is a 400. The bounds of memory_mb and pids here are the highest maxima an operator can set. */
            limits?: {
                memory_mb?: number;
                /** @description At most the operator's FAAS_MAX_CPUS (by default, and never more than, the host's cores). */
                cpus?: number;
                pids?: number;
            } | null;
            /** @description With `Prefer: respond-async`: where the final state and result are POSTed, signed (docs/API.md "Callbacks"); it wins over the function's own `callback_url`. An absolute http or https URL of at most 2048 characters, without credentials; an address the callback rules refuse is 400 FAAS_ERR_INVALID_CALLBACK. On a synchronous call it is 400 FAAS_ERR_INVALID_REQUEST with `field` callback_url. */
            callback_url?: string;
        };
        InvocationResult: {
            /** @description The function_id from the path. */
            request_id: string;
            invocation_id: string;
            /** @description Base64 of stdout. */
            response_base64: string | null;
            /** @description Base64 of stdout and stderr interleaved. */
            logs_base64: string | null;
            stderr_base64: string | null;
            /** @description Null when the command exited 0. */
            error: string | null;
            exit_code: number | null;
            signal: string | null;
            truncated: boolean;
            duration_ms: number;
            /** @enum {string} */
            executor: "docker" | "gvisor" | "qemu" | "firecracker" | "oci";
            /** @description The registered function's version that ran; null for an ad-hoc SandboxConfig. */
            function_version: number | null;
            /** @description Milliseconds spent in each phase: waiting for a slot, getting a sandbox (warm or cold), running the command. */
            phases: {
                queue_ms: number;
                acquire_ms: number;
                run_ms: number;
            };
        };
        Error: {
            /** @description What went wrong and how to fix it. */
            error: string;
            /** @description The registry code (docs/ERRORS.md); match on this, never on `error`. */
            code: string;
            /** @description The field a validation error is about: a request field (function_id, image, command, env_vars, payload_base64, timeout_ms, executor, limits.<name>, or an unknown field's name; id, secrets, pool_mode, max_concurrency, description in a function definition; name, scopes, functions, rate_limit, max_concurrency, expires_at in a key) or, for FAAS_ERR_INVALID_QUERY, the query parameter. */
            field?: string;
            invocation_id?: string;
            /** @description On a 504: the function id. */
            request_id?: string;
            /** @description On a 504: the timeout that ran out. */
            timeout_ms?: number;
            /** @description On a 504: base64 of the output so far, stdout and stderr interleaved. */
            logs_base64?: string;
            /** @description On a 422: the image that is not on the host. */
            image?: string;
            /** @description On a 504: whether the output so far reached the cap. */
            truncated?: boolean;
            /** @description On a 412 FAAS_ERR_VERSION_CONFLICT: the function's current version, where the answer gives it. */
            version?: number;
            /** @description On a 502 (always there): whether the command may have started in the sandbox that failed (false: it certainly did not, so running the invocation again runs it once; every fault while a sandbox was being started says false). */
            started?: boolean;
        };
        /** @description An error answer of the invoke operation: always names its invocation. */
        InvocationError: components["schemas"]["Error"] & {
            invocation_id: string;
        };
        Health: {
            /** @enum {string} */
            status: "ok" | "ready";
            executor?: string;
            running?: number;
            queued?: number;
            /** @description On /ready: true while warm sandboxes are being started again after they died (the engine restarted, spares were killed from outside). Invocations are served meanwhile, by a cold start where no spare is ready. */
            rebuilding?: boolean;
        };
        /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. */
        FunctionId: string;
        /** @description A function's resources. Each is capped by the operator's maximum (FAAS_MAX_MEMORY_MB, FAAS_MAX_CPUS, FAAS_MAX_PIDS): above it is 400 FAAS_ERR_INVALID_LIMITS. Unset ones take the platform defaults. */
        FunctionLimits: {
            memory_mb?: number;
            /** @description At most the operator's FAAS_MAX_CPUS (by default, and never more than, the host's cores). */
            cpus?: number;
            pids?: number;
        };
        /** @description A function definition (the body of `POST /functions`). A fault in `id` is 400 FAAS_ERR_INVALID_FUNCTION_ID; in `image`, `command`, `env_vars`, `timeout_ms` or `limits` it is the same code as in a SandboxConfig (and an `executor` not enabled is 403 FAAS_ERR_EXECUTOR_NOT_ALLOWED); in `secrets` it is FAAS_ERR_INVALID_ENV; an unknown field, an empty body or one that is not an object (`field` `body`), and a fault in `pool_mode`, `max_concurrency` or `description` is 400 FAAS_ERR_INVALID_FUNCTION. `field` names the field. */
        FunctionCreate: {
            id: components["schemas"]["FunctionId"];
            /** @description Image to run, e.g. faas/busybox:latest: [registry/]name[:tag][@sha256:digest], lowercase name components. The repository name (without tag and digest) may be at most 255 characters once the engine's default registry is added: `docker.io/` when the first component is not a registry host, and `library/` too for a one-component name (so at most 245 and 237 characters as written); longer names get 400 FAAS_ERR_INVALID_IMAGE. `oci:<ref>` names an image of the oci executor's OCI image layout (FAAS_OCI_IMAGE_LAYOUT) by its ref name there; the other executors refuse it with 422 FAAS_ERR_IMAGE_NOT_FOUND. */
            image: string;
            /** @description Program and arguments (at most 128 KiB in all); run directly, not through a shell. Arguments after the program may be empty. No NUL characters or lone UTF-16 surrogates. */
            command: [
                string,
                ...string[]
            ];
            /** @description KEY=VALUE strings, as in a SandboxConfig (at most 32 KiB each, 256 KiB in all, 128 entries with the secrets counted in). No NUL characters or lone UTF-16 surrogates. */
            env_vars?: string[];
            /** @description The variables an invocation may add in its `env_vars` (docs/API.md "Invoke"): names, or prefixes ending in `*` such as `APP_*` (not `*` alone); none of them a start-up variable (LD_*, BASH_ENV, NODE_OPTIONS, PYTHON*, OPENSSL_*, TAR_OPTIONS, ...: docs/API.md). An invocation never sets a variable the definition sets, nor a start-up variable, whatever this says. Faults: 400 FAAS_ERR_INVALID_FUNCTION with `field` allowed_env_vars. Default and null: [] (callers set no variable). */
            allowed_env_vars?: string[] | null;
            /** @description Variables whose values are encrypted at rest and never returned, logged or recorded: `{"NAME": "value"}`, names as environment variables, at most 100 of them, each `NAME=value` at most 32 KiB (UTF-8) without NUL characters or lone UTF-16 surrogates. The sandbox gets them as ordinary environment variables. A name may not also be set in `env_vars`, and `env_vars` and secrets together are held to the limits of one env_vars list (128 entries, 256 KiB). Any fault here is 400 FAAS_ERR_INVALID_ENV with `field` `secrets` (its message names the secret, never its value). */
            secrets?: {
                [key: string]: string;
            };
            /**
             * @description The executor this function runs on; must be in FAAS_ALLOWED_EXECUTORS (otherwise 403 FAAS_ERR_EXECUTOR_NOT_ALLOWED). Null: FAAS_EXECUTOR_TYPE.
             * @enum {string|null}
             */
            executor?: "docker" | "gvisor" | "qemu" | "firecracker" | "oci" | null;
            /**
             * @description How warm sandboxes are used for this function. Null: FAAS_POOL_MODE.
             * @enum {string|null}
             */
            pool_mode?: "single-use" | "reuse" | "off" | null;
            limits?: components["schemas"]["FunctionLimits"];
            /** @description Kill the function after this long; at most FAAS_MAX_TIMEOUT_MS (otherwise 400 FAAS_ERR_INVALID_TIMEOUT). Null: FAAS_DEFAULT_TIMEOUT_MS. */
            timeout_ms?: number | null;
            /** @description Invocations of this function running at once; more get 429 FAAS_ERR_CONCURRENCY_LIMIT. Null: no cap of its own. */
            max_concurrency?: number | null;
            /** @description Attempts an asynchronous invocation of this function gets, the first included: platform faults are retried up to it (and the function's own failures, with `retry_on_failure`). Null: FAAS_ASYNC_MAX_ATTEMPTS. */
            max_attempts?: number | null;
            /** @description Retry an asynchronous invocation when the function itself fails (non-zero exit, timeout, out of memory), not only on platform faults. Null or absent: false. */
            retry_on_failure?: boolean | null;
            /** @description Where the final state and result of this function's asynchronous invocations are POSTed when the request names no `callback_url` (docs/API.md "Callbacks"): an absolute http or https URL of at most 2048 characters, without credentials (400 FAAS_ERR_INVALID_CALLBACK otherwise). Null: none. */
            callback_url?: string | null;
            /** @description Free text, up to 1024 characters. */
            description?: string;
        };
        /** @description A JSON merge patch (RFC 7396) of a definition, sent as application/json: a field present replaces the stored one, a field absent is kept, and `null` resets it to its default (`env_vars` [], `secrets` {}, `limits` {}, `description` "", the others null). `secrets` and `limits` are merged member by member: `"NAME": null` deletes one secret, `"cpus": null` unsets one limit. Arrays are replaced whole. `id` cannot change, and `image` and `command` cannot be null (400 FAAS_ERR_INVALID_FUNCTION). A patch that changes something adds 1 to the version; one that changes nothing answers the function as it is, at the same version. Fields are checked as in FunctionCreate. */
        FunctionPatch: {
            /** @description Image to run, e.g. faas/busybox:latest: [registry/]name[:tag][@sha256:digest], lowercase name components. The repository name (without tag and digest) may be at most 255 characters once the engine's default registry is added: `docker.io/` when the first component is not a registry host, and `library/` too for a one-component name (so at most 245 and 237 characters as written); longer names get 400 FAAS_ERR_INVALID_IMAGE. `oci:<ref>` names an image of the oci executor's OCI image layout (FAAS_OCI_IMAGE_LAYOUT) by its ref name there; the other executors refuse it with 422 FAAS_ERR_IMAGE_NOT_FOUND. */
            image?: string;
            /** @description Program and arguments (at most 128 KiB in all); run directly, not through a shell. Arguments after the program may be empty. No NUL characters or lone UTF-16 surrogates. */
            command?: [
                string,
                ...string[]
            ];
            /** @description KEY=VALUE strings, as in a SandboxConfig (at most 32 KiB each, 256 KiB in all, 128 entries with the secrets counted in). No NUL characters or lone UTF-16 surrogates. */
            env_vars?: string[] | null;
            /** @description The variables an invocation may add in its `env_vars` (docs/API.md "Invoke"): names, or prefixes ending in `*` such as `APP_*` (not `*` alone); none of them a start-up variable (LD_*, BASH_ENV, NODE_OPTIONS, PYTHON*, OPENSSL_*, TAR_OPTIONS, ...: docs/API.md). An invocation never sets a variable the definition sets, nor a start-up variable, whatever this says. Faults: 400 FAAS_ERR_INVALID_FUNCTION with `field` allowed_env_vars. null: [] (callers set no variable). */
            allowed_env_vars?: string[] | null;
            /** @description Variables whose values are encrypted at rest and never returned, logged or recorded: `{"NAME": "value"}`, names as environment variables, at most 100 of them, each `NAME=value` at most 32 KiB (UTF-8) without NUL characters or lone UTF-16 surrogates. The sandbox gets them as ordinary environment variables. A name may not also be set in `env_vars`, and `env_vars` and secrets together are held to the limits of one env_vars list (128 entries, 256 KiB). Any fault here is 400 FAAS_ERR_INVALID_ENV with `field` `secrets` (its message names the secret, never its value). Here `"NAME": null` deletes one secret and `"secrets": null` deletes them all; the limits apply to the result. */
            secrets?: {
                [key: string]: string | null;
            } | null;
            /**
             * @description The executor this function runs on; must be in FAAS_ALLOWED_EXECUTORS (otherwise 403 FAAS_ERR_EXECUTOR_NOT_ALLOWED). Null: FAAS_EXECUTOR_TYPE.
             * @enum {string|null}
             */
            executor?: "docker" | "gvisor" | "qemu" | "firecracker" | "oci" | null;
            /**
             * @description How warm sandboxes are used for this function. Null: FAAS_POOL_MODE.
             * @enum {string|null}
             */
            pool_mode?: "single-use" | "reuse" | "off" | null;
            /** @description Merged into the stored limits: a number sets one, `null` unsets one (it takes the platform default again). */
            limits?: {
                memory_mb?: number | null;
                /** @description At most the operator's FAAS_MAX_CPUS (by default, and never more than, the host's cores). */
                cpus?: number | null;
                pids?: number | null;
            } | null;
            /** @description Kill the function after this long; at most FAAS_MAX_TIMEOUT_MS (otherwise 400 FAAS_ERR_INVALID_TIMEOUT). Null: FAAS_DEFAULT_TIMEOUT_MS. */
            timeout_ms?: number | null;
            /** @description Invocations of this function running at once; more get 429 FAAS_ERR_CONCURRENCY_LIMIT. Null: no cap of its own. */
            max_concurrency?: number | null;
            /** @description Attempts an asynchronous invocation of this function gets, the first included: platform faults are retried up to it (and the function's own failures, with `retry_on_failure`). Null: FAAS_ASYNC_MAX_ATTEMPTS. */
            max_attempts?: number | null;
            /** @description Retry an asynchronous invocation when the function itself fails (non-zero exit, timeout, out of memory), not only on platform faults. Null or absent: false. */
            retry_on_failure?: boolean | null;
            /** @description Where the final state and result of this function's asynchronous invocations are POSTed when the request names no `callback_url` (docs/API.md "Callbacks"): an absolute http or https URL of at most 2048 characters, without credentials (400 FAAS_ERR_INVALID_CALLBACK otherwise). Null: none. */
            callback_url?: string | null;
            /** @description Free text, up to 1024 characters. */
            description?: string | null;
        };
        /** @description A registered function: its definition with `secrets` replaced by `secret_names`, and its version and times. */
        Function: {
            id: components["schemas"]["FunctionId"];
            image: string;
            command: string[];
            env_vars: string[];
            /** @description The variables an invocation may add (names, or prefixes ending in `*`); []: none. */
            allowed_env_vars: string[];
            /** @description Names of the secrets, sorted; their values are never returned. */
            secret_names: string[];
            /** @enum {string|null} */
            executor: "docker" | "gvisor" | "qemu" | "firecracker" | "oci" | null;
            /** @enum {string|null} */
            pool_mode: "single-use" | "reuse" | "off" | null;
            /** @description The limits the definition sets (unset ones are not filled in with the defaults). */
            limits: {
                memory_mb?: number;
                cpus?: number;
                pids?: number;
            };
            timeout_ms: number | null;
            max_concurrency: number | null;
            /** @description Attempts an asynchronous invocation of this function gets, the first included: platform faults are retried up to it (and the function's own failures, with `retry_on_failure`). Null: FAAS_ASYNC_MAX_ATTEMPTS. */
            max_attempts: number | null;
            /** @description Asynchronous invocations are retried on the function's own failures too. */
            retry_on_failure: boolean;
            /** @description The function's callback URL for asynchronous invocations; null: none. A key without the `functions` scope reads its origin only (`https://host/[redacted]`): the path and query may hold a token. */
            callback_url: string | null;
            description: string;
            /** @description 1 at creation, +1 on every change; the ETag. */
            version: number;
            /**
             * Format: date-time
             * @description RFC 3339, UTC.
             */
            created_at: string;
            /**
             * Format: date-time
             * @description RFC 3339, UTC; the time of the last change.
             */
            updated_at: string;
        };
        FunctionList: {
            functions: components["schemas"]["Function"][];
            /** @description Pass it as `cursor` to read the next page; null on the last page. */
            next_cursor: string | null;
        };
        /** @description One invocation as the history recorded it (its latest attempt), and where it stands. Environment variables and stdin are never recorded. `GET /invocations/{invocation_id}` and a cancel answer every field; the items of `GET /functions/{function_id}/invocations` have the history's fields only. An asynchronous invocation is answered from its acceptance on: until an attempt has ended, `status` is null and the run's figures are 0. */
        Invocation: {
            /** @description The invocation id (`x-faas-invocation-id` of its answer). */
            id: string;
            function_id: components["schemas"]["FunctionId"];
            /** @description The registered version that ran; null ad hoc. */
            function_version: number | null;
            /**
             * @description How it ended: the outcome (`completed` whatever the exit code, `out_of_memory`, `timed_out`, `cancelled`), or `error` for a platform fault. Null for an asynchronous invocation none of whose attempts has ended yet.
             * @enum {string|null}
             */
            status: "completed" | "out_of_memory" | "timed_out" | "cancelled" | "error" | null;
            exit_code: number | null;
            signal: string | null;
            /** @description The outcome's error in words, or the fault's message. */
            error: string | null;
            /** @description The registry code of a platform fault (status `error`) or of a timeout (FAAS_ERR_TIMEOUT); null otherwise. */
            error_code: string | null;
            /** @enum {string} */
            executor: "docker" | "gvisor" | "qemu" | "firecracker" | "oci";
            /** @description Id of the caller's API key (`admin` for the admin key); null in open mode. */
            key_id: string | null;
            /** @description Milliseconds spent in each phase: waiting for a slot, getting a sandbox (warm or cold), running the command. */
            phases: {
                queue_ms: number;
                acquire_ms: number;
                run_ms: number;
            };
            duration_ms: number;
            stdin_bytes: number;
            /** @description Size of the whole stdout the function wrote (as far as FAAS_MAX_OUTPUT_BYTES let it through). */
            stdout_bytes: number;
            stderr_bytes: number;
            /** @description The function's output reached FAAS_MAX_OUTPUT_BYTES. */
            truncated: boolean;
            /** @description The history kept less than the function wrote (FAAS_HISTORY_OUTPUT_BYTES). */
            output_truncated: boolean;
            /**
             * Format: date-time
             * @description RFC 3339, UTC: when the invocation was accepted (for an asynchronous one, its acceptance, not its latest attempt).
             */
            started_at: string;
            /**
             * Format: date-time
             * @description RFC 3339, UTC: when it ended; null while an asynchronous invocation is queued or running.
             */
            finished_at: string | null;
            /**
             * @description How it was asked for: answered on its own connection, or accepted with `Prefer: respond-async`.
             * @enum {string}
             */
            mode?: "sync" | "async";
            /**
             * @description Where the invocation stands: `queued` (waiting, or waiting for a retry's backoff), `running`, or final: `succeeded` (the function exited 0), `failed` (it failed and is not retried, or a fault that no retry can mend), `cancelled`, `dead` (its attempts are used up: a dead letter). A synchronous invocation is `succeeded`, `failed` or `cancelled`.
             * @enum {string}
             */
            state?: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "dead";
            /** @description Attempts started (1 for a synchronous invocation). */
            attempts?: number;
            /** @description Attempts it may reach before it is dead (raised by a redrive). */
            max_attempts?: number;
            /** @description Every attempt, first first. */
            attempt_history?: components["schemas"]["Attempt"][];
            /** Format: date-time */
            accepted_at?: string;
            /**
             * Format: date-time
             * @description While queued: when its next attempt may start (after a retry's backoff).
             */
            next_attempt_at?: string | null;
            /** @description A cancel reached it while it ran; it is being killed. */
            cancel_requested?: boolean;
            /** @description An asynchronous invocation whose function ran to an end (whatever its exit, a timeout included): the body a synchronous call would have answered, its output up to FAAS_MAX_OUTPUT_BYTES. Null otherwise, and for synchronous invocations (their caller had it). */
            result?: components["schemas"]["InvocationResult"] | null;
            /** @description An asynchronous invocation with a `callback_url` (its own or its function's): where the delivery of its final state stands. Null for one without a callback, a synchronous one, and one that ended before the platform kept delivery states. Absent from a callback's own body. */
            callback?: components["schemas"]["CallbackDelivery"] | null;
        };
        /** @description Where the delivery of an asynchronous invocation's callback stands (docs/API.md "Callbacks"): of its latest final state (a redrive makes it `pending` again). */
        CallbackDelivery: {
            /** @description The callback URL's origin (`https://hooks.example`): its path and query, which may hold the receiver's token, are left out. */
            url_origin: string;
            /**
             * @description `pending`: the invocation has not ended, or its end is being delivered or waits for a retry. `delivered`: the receiver answered 2xx. `failed`: the receiver refused it (a 4xx other than 408 and 429, a redirect), or every attempt failed (FAAS_CALLBACK_MAX_ATTEMPTS). `refused`: nothing was sent: the URL, or an address its host resolves to, is one callbacks may not reach (FAAS_CALLBACK_ALLOW_PRIVATE, FAAS_CALLBACK_ALLOW_CIDRS); `last_error` says which.
             * @enum {string}
             */
            state: "pending" | "delivered" | "failed" | "refused";
            /** @description Attempts made so far (an attempt refused by the address rules counts, though nothing was sent). */
            attempts: number;
            /** @description Why the last attempt failed, or why the delivery was refused; null once delivered, or before any attempt. */
            last_error: string | null;
            /** @description The HTTP status of the last answer the receiver gave; null when none answered. */
            last_status: number | null;
            /**
             * Format: date-time
             * @description RFC 3339, UTC: when the receiver's 2xx came; null unless `delivered`.
             */
            delivered_at: string | null;
        };
        InvocationList: {
            invocations: components["schemas"]["Invocation"][];
            /** @description Pass it as `cursor` to read the next page; null on the last page. */
            next_cursor: string | null;
        };
        /** @description The first FAAS_HISTORY_OUTPUT_BYTES of stdout and of stderr the history kept. */
        InvocationOutput: {
            stdout_base64: string;
            stderr_base64: string;
            /** @description True when the history kept less than the function wrote. */
            output_truncated: boolean;
        };
        /** @description A new API key. Faults are 400 FAAS_ERR_INVALID_REQUEST with `field` naming the field (`body` for a body that is not an object). */
        KeyCreate: {
            /** @description What the key is for: 1-100 characters, no control or bidirectional formatting characters; need not be unique. */
            name: string;
            /** @description `admin` includes every scope. A scope listed twice is a 400. */
            scopes: ("invoke" | "functions" | "history" | "metrics" | "admin")[];
            /** @description The functions the key is limited to (1-100 ids or prefixes); null or absent: every function. A key with the `admin` scope (it makes keys for any function) or the `metrics` scope (the metrics name every function) cannot be limited: a list without `*` is then a 400 with `field` `functions`. */
            functions?: string[] | null;
            /** @description A token bucket: `per_second` requests per second on average, `burst` at once. Null: no limit of its own. */
            rate_limit?: {
                per_second: number;
                burst: number;
            } | null;
            /** @description Invocations made with this key that may be under way at once (running or waiting for a slot, synchronous and asynchronous alike); one more is refused with 429 FAAS_ERR_KEY_CONCURRENCY_LIMIT (an asynchronous one waits in its queue). Null or absent: the platform's FAAS_KEY_MAX_CONCURRENCY. */
            max_concurrency?: number | null;
            /**
             * Format: date-time
             * @description RFC 3339, in the future (a time already past is 400); the key is refused from then on. Null or absent: never.
             */
            expires_at?: string | null;
        };
        /** @description An API key as the platform keeps it (never its secret). */
        KeyInfo: {
            /** @description Public id: the `<id>` of `faas_<id>_<secret>`, 12 characters of lowercase base32hex. */
            id: string;
            name: string;
            scopes: ("invoke" | "functions" | "history" | "metrics" | "admin")[];
            functions: string[] | null;
            rate_limit: {
                per_second: number;
                burst: number;
            } | null;
            /** @description The key's own cap on invocations under way at once; null: the platform's FAAS_KEY_MAX_CONCURRENCY. */
            max_concurrency: number | null;
            /**
             * Format: date-time
             * @description RFC 3339, UTC.
             */
            created_at: string;
            /** Format: date-time */
            expires_at: string | null;
            /**
             * Format: date-time
             * @description When `DELETE /keys/{key_id}` revoked it; null while it is valid.
             */
            revoked_at: string | null;
            /**
             * Format: date-time
             * @description Updated at most once a minute.
             */
            last_used_at: string | null;
        };
        /** @description A KeyInfo plus the key itself, shown in this answer only (the platform keeps its SHA-256). */
        KeyCreated: {
            /** @description `faas_<id>_<secret>`, the secret 32 random bytes in base64url: send it as `Authorization: Bearer <key>`. */
            key: string;
            /** @description Public id: the `<id>` of `faas_<id>_<secret>`, 12 characters of lowercase base32hex. */
            id: string;
            name: string;
            scopes: ("invoke" | "functions" | "history" | "metrics" | "admin")[];
            functions: string[] | null;
            rate_limit: {
                per_second: number;
                burst: number;
            } | null;
            /** @description The key's own cap on invocations under way at once; null: the platform's FAAS_KEY_MAX_CONCURRENCY. */
            max_concurrency: number | null;
            /**
             * Format: date-time
             * @description RFC 3339, UTC.
             */
            created_at: string;
            /** Format: date-time */
            expires_at: string | null;
            /**
             * Format: date-time
             * @description When `DELETE /keys/{key_id}` revoked it; null while it is valid.
             */
            revoked_at: string | null;
            /**
             * Format: date-time
             * @description Updated at most once a minute.
             */
            last_used_at: string | null;
        };
        KeyList: {
            /** @description One page of keys, revoked and expired ones included, oldest first (creation time, then id). */
            keys: components["schemas"]["KeyInfo"][];
            /** @description Pass it as `cursor` to read the next page; null on the last page. */
            next_cursor: string | null;
        };
        /** @description An asynchronous invocation, accepted (committed to the queue) or queued again: poll `GET /invocations/{invocation_id}` (the `Location`). */
        AsyncAccepted: {
            invocation_id: string;
            function_id: components["schemas"]["FunctionId"];
            /**
             * @description Where the invocation stands: `queued` (waiting, or waiting for a retry's backoff), `running`, or final: `succeeded` (the function exited 0), `failed` (it failed and is not retried, or a fault that no retry can mend), `cancelled`, `dead` (its attempts are used up: a dead letter). A synchronous invocation is `succeeded`, `failed` or `cancelled`.
             * @enum {string}
             */
            state: "queued" | "running" | "succeeded" | "failed" | "cancelled" | "dead";
            /**
             * Format: date-time
             * @description RFC 3339, UTC.
             */
            accepted_at: string;
        };
        /** @description One attempt of an invocation. */
        Attempt: {
            /** @description 1, 2, 3, ... over every drive (a redrive keeps counting). */
            attempt: number;
            /**
             * @description `running`, or how the attempt ended (as the history's `status`; `error` is a platform fault: FAAS_ERR_WORKER_LOST when the platform stopped, or its worker lost the lease, while it ran).
             * @enum {string}
             */
            status: "running" | "completed" | "out_of_memory" | "timed_out" | "cancelled" | "error";
            exit_code: number | null;
            error: string | null;
            error_code: string | null;
            /** Format: date-time */
            started_at: string;
            /** Format: date-time */
            finished_at: string | null;
        };
        /** @description An asynchronous invocation that used up its attempts. Its request is kept (sealed) until it is re-driven or deleted. */
        DeadLetter: {
            invocation_id: string;
            function_id: components["schemas"]["FunctionId"];
            /** @description The registered version when it was accepted; null ad hoc. */
            function_version: number | null;
            key_id: string | null;
            attempts: number;
            max_attempts: number;
            /** @description Why its last attempt failed. */
            error: string | null;
            error_code: string | null;
            /** Format: date-time */
            accepted_at: string;
            /** Format: date-time */
            dead_at: string;
        };
        DeadLetterList: {
            dead_letters: components["schemas"]["DeadLetter"][];
            /** @description Pass as `cursor` for the next page; null on the last. */
            next_cursor: string | null;
        };
    };
    responses: {
        /** @description The path exists but does not accept this method (any method the path does not declare); `Allow` lists those it does. FAAS_ERR_METHOD_NOT_ALLOWED. Given to a key that holds the path's scope; a key without it gets 403 FAAS_ERR_FORBIDDEN instead. */
        MethodNotAllowed: {
            headers: {
                Allow: components["headers"]["Allow"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. */
        Unauthorized: {
            headers: {
                "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_UNAUTHORIZED";
                };
            };
        };
        /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_FORBIDDEN";
                };
            };
        };
        /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. */
        RateLimited: {
            headers: {
                "Retry-After": components["headers"]["RetryAfter"];
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_RATE_LIMITED";
                };
            };
        };
        /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). */
        Internal: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_INTERNAL";
                };
            };
        };
        /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). */
        StoreUnavailable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_STORE_UNAVAILABLE";
                };
            };
        };
        /** @description The request was not received within the request timeout (FAAS_ERR_REQUEST_TIMEOUT). */
        RequestTimeout: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_REQUEST_TIMEOUT";
                };
            };
        };
        /** @description The request line and headers exceed the limit (16 KiB); answered before any operation is chosen (FAAS_ERR_HEADERS_TOO_LARGE). */
        HeadersTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_HEADERS_TOO_LARGE";
                };
            };
        };
        /** @description The request body exceeds FAAS_MAX_BODY_BYTES (FAAS_ERR_BODY_TOO_LARGE). */
        BodyTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_BODY_TOO_LARGE";
                };
            };
        };
        /** @description A body sent as anything but application/json (FAAS_ERR_UNSUPPORTED_MEDIA_TYPE). */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_UNSUPPORTED_MEDIA_TYPE";
                };
            };
        };
        /** @description No function is registered under this id (FAAS_ERR_FUNCTION_NOT_FOUND). */
        FunctionNotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_FUNCTION_NOT_FOUND";
                };
            };
        };
        /** @description No invocation with this id is in the history: never recorded, or removed by retention (FAAS_ERR_INVOCATION_NOT_FOUND). */
        InvocationNotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_INVOCATION_NOT_FOUND";
                };
            };
        };
        /** @description No API key with this id (FAAS_ERR_KEY_NOT_FOUND). */
        KeyNotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_KEY_NOT_FOUND";
                };
            };
        };
        /** @description If-Match names another version than the stored one (FAAS_ERR_VERSION_CONFLICT): read the function again and retry. */
        VersionConflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_VERSION_CONFLICT";
                };
            };
        };
        /** @description No dead letter with this id: the invocation is unknown, or is not dead (FAAS_ERR_DEAD_LETTER_NOT_FOUND). */
        DeadLetterNotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"] & {
                    /** @enum {string} */
                    code?: "FAAS_ERR_DEAD_LETTER_NOT_FOUND";
                };
            };
        };
    };
    parameters: {
        /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
        FunctionId: components["schemas"]["FunctionId"];
        /** @description An invocation id (the `invocation_id` of an answer of the invoke operation, a UUID). Any other value is 404 FAAS_ERR_INVOCATION_NOT_FOUND. */
        InvocationIdPath: string;
        /** @description A key id (12 characters of lowercase base32hex, `0-9a-v`: the `<id>` of `faas_<id>_<secret>`). Any other value, `admin` included, is 404 FAAS_ERR_KEY_NOT_FOUND. */
        KeyIdPath: string;
        /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
        Limit: number;
        /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
        Cursor: string;
        /** @description Apply only if the function is still at this version: `"<version>"` (quotes included) as its ETag gave it, or `*` (any version). Another version is 412 FAAS_ERR_VERSION_CONFLICT; anything that is not one entity tag or `*` is 400 FAAS_ERR_INVALID_REQUEST with `field` `if-match`. */
        IfMatch: string;
        /** @description `respond-async` (RFC 7240) queues the invocation and answers 202 at once (once it is committed to the store) instead of running it on this connection. Other preferences are ignored. */
        Prefer: string;
        /** @description With `Prefer: respond-async`: the same key (per API key, for FAAS_IDEMPOTENCY_WINDOW_HOURS) answers the invocation it made, never a second run; with another request it is 422 FAAS_ERR_IDEMPOTENCY_KEY_REUSED. 1-255 visible ASCII characters (a quoted string is read without its quotes). Without `Prefer: respond-async` it is 400 FAAS_ERR_INVALID_REQUEST with `field` `idempotency-key`. */
        IdempotencyKey: string;
        /** @description The id of a dead invocation. Any other value is 404 FAAS_ERR_DEAD_LETTER_NOT_FOUND. */
        DeadLetterIdPath: string;
        /** @description Only this function's dead letters. A malformed id is 400 FAAS_ERR_INVALID_QUERY. */
        FunctionIdQuery: components["schemas"]["FunctionId"];
    };
    requestBodies: never;
    headers: {
        /** @description Unique id of this invocation (a UUID); equal to `invocation_id` in the body. */
        InvocationId: string;
        /** @description The methods this path accepts. */
        Allow: string;
        /** @description The authentication scheme to use: `Bearer`. */
        WWWAuthenticate: string;
        /** @description Seconds to wait before the key may make another request. */
        RetryAfter: number;
        /** @description The path of the resource just created. */
        Location: string;
        /** @description The function's version as a strong entity tag, `"<version>"`; send it back in `If-Match`. */
        ETag: string;
        /** @description `respond-async`: the invocation was queued. */
        PreferenceApplied: "respond-async";
    };
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    listFunctions: {
        parameters: {
            query?: {
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of functions. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FunctionList"];
                };
            };
            /** @description A malformed `limit` or `cursor` (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    createFunction: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FunctionCreate"];
            };
        };
        responses: {
            /** @description Registered at version 1. */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Function"];
                };
            };
            /** @description The definition is malformed; `field` names the field; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_FUNCTION" | "FAAS_ERR_INVALID_FUNCTION_ID" | "FAAS_ERR_INVALID_IMAGE" | "FAAS_ERR_INVALID_COMMAND" | "FAAS_ERR_INVALID_ENV" | "FAAS_ERR_INVALID_TIMEOUT" | "FAAS_ERR_INVALID_LIMITS" | "FAAS_ERR_INVALID_CALLBACK" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            /** @description The key lacks scope `functions` or this function id (FAAS_ERR_FORBIDDEN), or `executor` is not in FAAS_ALLOWED_EXECUTORS (FAAS_ERR_EXECUTOR_NOT_ALLOWED). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_FORBIDDEN" | "FAAS_ERR_EXECUTOR_NOT_ALLOWED";
                    };
                };
            };
            405: components["responses"]["MethodNotAllowed"];
            408: components["responses"]["RequestTimeout"];
            /** @description A function is already registered under this id (FAAS_ERR_FUNCTION_EXISTS). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_FUNCTION_EXISTS";
                    };
                };
            };
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    listFunctionsHead: {
        parameters: {
            query?: {
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of functions. (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A malformed `limit` or `cursor` (FAAS_ERR_INVALID_QUERY); `field` names it. (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    getFunction: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
                function_id: components["parameters"]["FunctionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The function. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Function"];
                };
            };
            /** @description A malformed function id (FAAS_ERR_INVALID_FUNCTION_ID); or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_FUNCTION_ID" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["FunctionNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    deleteFunction: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply only if the function is still at this version: `"<version>"` (quotes included) as its ETag gave it, or `*` (any version). Another version is 412 FAAS_ERR_VERSION_CONFLICT; anything that is not one entity tag or `*` is 400 FAAS_ERR_INVALID_REQUEST with `field` `if-match`. */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
                function_id: components["parameters"]["FunctionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Removed. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A malformed function id (FAAS_ERR_INVALID_FUNCTION_ID), or a stray body that is not valid JSON; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_FUNCTION_ID" | "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["FunctionNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            412: components["responses"]["VersionConflict"];
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    getFunctionHead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
                function_id: components["parameters"]["FunctionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The function. (headers only, no body). */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A malformed function id (FAAS_ERR_INVALID_FUNCTION_ID); or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY). (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No function is registered under this id (FAAS_ERR_FUNCTION_NOT_FOUND). (headers only, no body). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    updateFunction: {
        parameters: {
            query?: never;
            header?: {
                /** @description Apply only if the function is still at this version: `"<version>"` (quotes included) as its ETag gave it, or `*` (any version). Another version is 412 FAAS_ERR_VERSION_CONFLICT; anything that is not one entity tag or `*` is 400 FAAS_ERR_INVALID_REQUEST with `field` `if-match`. */
                "If-Match"?: components["parameters"]["IfMatch"];
            };
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
                function_id: components["parameters"]["FunctionId"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FunctionPatch"];
                "application/merge-patch+json": components["schemas"]["FunctionPatch"];
            };
        };
        responses: {
            /** @description The function as changed. */
            200: {
                headers: {
                    ETag: components["headers"]["ETag"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Function"];
                };
            };
            /** @description A malformed function id or patch; `field` names the field; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_FUNCTION" | "FAAS_ERR_INVALID_FUNCTION_ID" | "FAAS_ERR_INVALID_IMAGE" | "FAAS_ERR_INVALID_COMMAND" | "FAAS_ERR_INVALID_ENV" | "FAAS_ERR_INVALID_TIMEOUT" | "FAAS_ERR_INVALID_LIMITS" | "FAAS_ERR_INVALID_CALLBACK" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            /** @description The key lacks scope `functions` or this function id (FAAS_ERR_FORBIDDEN), or `executor` is not in FAAS_ALLOWED_EXECUTORS (FAAS_ERR_EXECUTOR_NOT_ALLOWED). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_FORBIDDEN" | "FAAS_ERR_EXECUTOR_NOT_ALLOWED";
                    };
                };
            };
            404: components["responses"]["FunctionNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            408: components["responses"]["RequestTimeout"];
            412: components["responses"]["VersionConflict"];
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    invokeFunction: {
        parameters: {
            query?: never;
            header?: {
                /** @description `respond-async` (RFC 7240) queues the invocation and answers 202 at once (once it is committed to the store) instead of running it on this connection. Other preferences are ignored. */
                Prefer?: components["parameters"]["Prefer"];
                /** @description With `Prefer: respond-async`: the same key (per API key, for FAAS_IDEMPOTENCY_WINDOW_HOURS) answers the invocation it made, never a second run; with another request it is 422 FAAS_ERR_IDEMPOTENCY_KEY_REUSED. 1-255 visible ASCII characters (a quoted string is read without its quotes). Without `Prefer: respond-async` it is 400 FAAS_ERR_INVALID_REQUEST with `field` `idempotency-key`. */
                "Idempotency-Key"?: components["parameters"]["IdempotencyKey"];
            };
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. */
                function_id: string;
            };
            cookie?: never;
        };
        /** @description A SandboxConfig (ad hoc, unregistered id) or a RegisteredInvocation (registered id); optional for a registered id. */
        requestBody?: {
            content: {
                "application/json": components["schemas"]["SandboxConfig"] | components["schemas"]["RegisteredInvocation"];
            };
        };
        responses: {
            /** @description The command ran (successfully or not); see `error` and `exit_code`. */
            200: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationResult"];
                };
            };
            /** @description Queued (`Prefer: respond-async`): committed to the store before this answer. A repeated Idempotency-Key answers the invocation it made, in whatever state it is now. */
            202: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    Location: components["headers"]["Location"];
                    "Preference-Applied": components["headers"]["PreferenceApplied"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AsyncAccepted"];
                };
            };
            /** @description The request is malformed, sets a field a registered definition fixes, sends an Idempotency-Key or a callback_url without Prefer: respond-async (`field` idempotency-key, callback_url), a callback_url the callback rules refuse (FAAS_ERR_INVALID_CALLBACK), or a query parameter: the route reads no query string, so any parameter is FAAS_ERR_INVALID_QUERY with `field` naming it (`?async=true` too, its message saying to send `Prefer: respond-async` instead). */
            400: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_FUNCTION_ID" | "FAAS_ERR_INVALID_IMAGE" | "FAAS_ERR_INVALID_COMMAND" | "FAAS_ERR_INVALID_ENV" | "FAAS_ERR_INVALID_BASE64" | "FAAS_ERR_INVALID_TIMEOUT" | "FAAS_ERR_INVALID_LIMITS" | "FAAS_ERR_FIELD_NOT_ALLOWED" | "FAAS_ERR_INVALID_CALLBACK" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            /** @description No API key, or one that is unknown, revoked or expired. */
            401: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_UNAUTHORIZED";
                    };
                };
            };
            /** @description The key lacks scope `invoke` or this function, or the executor is not enabled. */
            403: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_FORBIDDEN" | "FAAS_ERR_EXECUTOR_NOT_ALLOWED";
                    };
                };
            };
            /** @description No function is registered under this id, and the request is not an ad-hoc SandboxConfig the platform allows. */
            404: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_FUNCTION_NOT_FOUND";
                    };
                };
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The request was not received within the request timeout. Carries the invocation id when the headers had arrived. */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_REQUEST_TIMEOUT";
                    };
                };
            };
            /** @description The body exceeds FAAS_MAX_BODY_BYTES, or the decoded payload FAAS_MAX_PAYLOAD_BYTES. */
            413: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_BODY_TOO_LARGE" | "FAAS_ERR_PAYLOAD_TOO_LARGE";
                    };
                };
            };
            /** @description A body sent as anything but application/json. */
            415: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_UNSUPPORTED_MEDIA_TYPE";
                    };
                };
            };
            /** @description The image is not on the host and cannot be pulled (`image` names it), or the Idempotency-Key was used for another request (FAAS_ERR_IDEMPOTENCY_KEY_REUSED). */
            422: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_IMAGE_NOT_FOUND" | "FAAS_ERR_IDEMPOTENCY_KEY_REUSED";
                    };
                };
            };
            /** @description Every slot is busy and the queue is full (FAAS_ERR_SATURATED), the API key's concurrency cap is reached (FAAS_ERR_KEY_CONCURRENCY_LIMIT: its max_concurrency, or FAAS_KEY_MAX_CONCURRENCY), the function's max_concurrency is reached (FAAS_ERR_CONCURRENCY_LIMIT), the key's rate limit is used up (FAAS_ERR_RATE_LIMITED, with Retry-After), or, with `Prefer: respond-async`, FAAS_ASYNC_MAX_QUEUED invocations are waiting in the queue already, or FAAS_ASYNC_MAX_QUEUED_PER_KEY of the key's (FAAS_ERR_QUEUE_FULL, with Retry-After; nothing was queued). */
            429: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    /** @description On FAAS_ERR_RATE_LIMITED and FAAS_ERR_QUEUE_FULL: seconds to wait. */
                    "Retry-After"?: number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_SATURATED" | "FAAS_ERR_KEY_CONCURRENCY_LIMIT" | "FAAS_ERR_CONCURRENCY_LIMIT" | "FAAS_ERR_RATE_LIMITED" | "FAAS_ERR_QUEUE_FULL";
                    };
                };
            };
            /** @description The request line and headers exceed the limit (16 KiB); answered before any operation is chosen. */
            431: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_HEADERS_TOO_LARGE";
                    };
                };
            };
            /** @description An unexpected platform fault. */
            500: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INTERNAL";
                    };
                };
            };
            /** @description A platform fault outside the function: the sandbox failed (FAAS_ERR_SANDBOX_FAILURE: an engine error, a guest that broke the agent protocol, a sandbox that cannot be started, such as a guest agent its container cannot execute or a spec the runtime refuses, reported at once), or died under the invocation (FAAS_ERR_SANDBOX_LOST: killed from outside, its engine or VMM went away), never reported as the function's exit code. Every 502 has `started`, whether the command may have started: a sandbox found dead before the start, or that died or whose agent hung up while it started, is replaced and the invocation run on a fresh one (up to 3 sandboxes) within its timeout, so FAAS_ERR_SANDBOX_LOST with `started: false` is seen only when that kept failing; any fault while a sandbox was being started says `started: false`. */
            502: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_SANDBOX_FAILURE" | "FAAS_ERR_SANDBOX_LOST";
                        started: boolean;
                    };
                };
            };
            /** @description The server is draining, the executor backend or the storage cannot be reached. */
            503: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_SHUTTING_DOWN" | "FAAS_ERR_EXECUTOR_UNAVAILABLE" | "FAAS_ERR_STORE_UNAVAILABLE";
                    };
                };
            };
            /** @description The function did not finish within its timeout and was killed; the output so far is in the body. */
            504: {
                headers: {
                    "x-faas-invocation-id": components["headers"]["InvocationId"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationError"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_TIMEOUT";
                    };
                };
            };
        };
    };
    listInvocations: {
        parameters: {
            query?: {
                /** @description Only invocations that ended this way. */
                status?: "completed" | "out_of_memory" | "timed_out" | "cancelled" | "error";
                /** @description Only invocations started at or after this time: RFC 3339 (`2026-11-29T19:27:24Z`) or epoch milliseconds, not before 1970. Anything else, and `since` later than `until`, is 400 FAAS_ERR_INVALID_QUERY. */
                since?: number | string;
                /** @description Only invocations started at or before this time: RFC 3339 (`2026-11-29T19:27:24Z`) or epoch milliseconds, not before 1970. Anything else, and `since` later than `until`, is 400 FAAS_ERR_INVALID_QUERY. */
                until?: number | string;
                /** @description Only invocations made with this API key (`admin` for the admin key). */
                key_id?: string;
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
                function_id: components["parameters"]["FunctionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of invocations. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationList"];
                };
            };
            /** @description A malformed function id, or query parameter (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_FUNCTION_ID" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    listInvocationsHead: {
        parameters: {
            query?: {
                /** @description Only invocations that ended this way. */
                status?: "completed" | "out_of_memory" | "timed_out" | "cancelled" | "error";
                /** @description Only invocations started at or after this time: RFC 3339 (`2026-11-29T19:27:24Z`) or epoch milliseconds, not before 1970. Anything else, and `since` later than `until`, is 400 FAAS_ERR_INVALID_QUERY. */
                since?: number | string;
                /** @description Only invocations started at or before this time: RFC 3339 (`2026-11-29T19:27:24Z`) or epoch milliseconds, not before 1970. Anything else, and `since` later than `until`, is 400 FAAS_ERR_INVALID_QUERY. */
                until?: number | string;
                /** @description Only invocations made with this API key (`admin` for the admin key). */
                key_id?: string;
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path: {
                /** @description Letters, digits, '.', '_' and '-'; 1-128 characters; starts with a letter or digit; no '..'. A malformed id is 400 FAAS_ERR_INVALID_FUNCTION_ID. */
                function_id: components["parameters"]["FunctionId"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of invocations. (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A malformed function id, or query parameter (FAAS_ERR_INVALID_QUERY, `field` names it). (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    getInvocation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An invocation id (the `invocation_id` of an answer of the invoke operation, a UUID). Any other value is 404 FAAS_ERR_INVOCATION_NOT_FOUND. */
                invocation_id: components["parameters"]["InvocationIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The invocation. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invocation"];
                };
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["InvocationNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    cancelInvocation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An invocation id (the `invocation_id` of an answer of the invoke operation, a UUID). Any other value is 404 FAAS_ERR_INVOCATION_NOT_FOUND. */
                invocation_id: components["parameters"]["InvocationIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Cancelled. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invocation"];
                };
            };
            /** @description It was running and is being killed. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Invocation"];
                };
            };
            /** @description A stray body that is not valid JSON; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["InvocationNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            /** @description It ended already (succeeded, failed or dead), or ran synchronously (FAAS_ERR_INVOCATION_FINISHED). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVOCATION_FINISHED";
                    };
                };
            };
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    getInvocationHead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An invocation id (the `invocation_id` of an answer of the invoke operation, a UUID). Any other value is 404 FAAS_ERR_INVOCATION_NOT_FOUND. */
                invocation_id: components["parameters"]["InvocationIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The invocation. (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY). (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No invocation with this id is in the history: never recorded, or removed by retention (FAAS_ERR_INVOCATION_NOT_FOUND). (headers only, no body). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    getInvocationOutput: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An invocation id (the `invocation_id` of an answer of the invoke operation, a UUID). Any other value is 404 FAAS_ERR_INVOCATION_NOT_FOUND. */
                invocation_id: components["parameters"]["InvocationIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The kept stdout and stderr. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["InvocationOutput"];
                };
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["InvocationNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    getInvocationOutputHead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description An invocation id (the `invocation_id` of an answer of the invoke operation, a UUID). Any other value is 404 FAAS_ERR_INVOCATION_NOT_FOUND. */
                invocation_id: components["parameters"]["InvocationIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The kept stdout and stderr. (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY). (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No invocation with this id is in the history: never recorded, or removed by retention (FAAS_ERR_INVOCATION_NOT_FOUND). (headers only, no body). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    listDeadLetters: {
        parameters: {
            query?: {
                /** @description Only this function's dead letters. A malformed id is 400 FAAS_ERR_INVALID_QUERY. */
                function_id?: components["parameters"]["FunctionIdQuery"];
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of dead letters. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DeadLetterList"];
                };
            };
            /** @description A malformed `function_id`, `limit` or `cursor` (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    listDeadLettersHead: {
        parameters: {
            query?: {
                /** @description Only this function's dead letters. A malformed id is 400 FAAS_ERR_INVALID_QUERY. */
                function_id?: components["parameters"]["FunctionIdQuery"];
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of dead letters. (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A malformed `function_id`, `limit` or `cursor` (FAAS_ERR_INVALID_QUERY); `field` names it. (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    deleteDeadLetter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The id of a dead invocation. Any other value is 404 FAAS_ERR_DEAD_LETTER_NOT_FOUND. */
                invocation_id: components["parameters"]["DeadLetterIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A stray body that is not valid JSON; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["DeadLetterNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    redriveDeadLetter: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The id of a dead invocation. Any other value is 404 FAAS_ERR_DEAD_LETTER_NOT_FOUND. */
                invocation_id: components["parameters"]["DeadLetterIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Queued again. */
            202: {
                headers: {
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AsyncAccepted"];
                };
            };
            /** @description A stray body that is not valid JSON; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["DeadLetterNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            /** @description FAAS_ASYNC_MAX_QUEUED invocations are waiting in the queue already (FAAS_ERR_QUEUE_FULL; it stays dead), or the key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. */
            429: {
                headers: {
                    /** @description Seconds to wait before trying again. */
                    "Retry-After": number;
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_QUEUE_FULL" | "FAAS_ERR_RATE_LIMITED";
                    };
                };
            };
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    listKeys: {
        parameters: {
            query?: {
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of keys. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KeyList"];
                };
            };
            /** @description A malformed `limit` or `cursor` (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    createKey: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["KeyCreate"];
            };
        };
        responses: {
            /** @description Created. */
            201: {
                headers: {
                    Location: components["headers"]["Location"];
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KeyCreated"];
                };
            };
            /** @description A malformed key request (FAAS_ERR_INVALID_REQUEST, `field` names the field); or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            405: components["responses"]["MethodNotAllowed"];
            408: components["responses"]["RequestTimeout"];
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            431: components["responses"]["HeadersTooLarge"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    listKeysHead: {
        parameters: {
            query?: {
                /** @description Items per page, 1-1000 (default 100). Anything else is 400 FAAS_ERR_INVALID_QUERY. */
                limit?: components["parameters"]["Limit"];
                /** @description The `next_cursor` of the previous page, passed back as it is. A cursor the server did not issue is 400 FAAS_ERR_INVALID_QUERY. */
                cursor?: components["parameters"]["Cursor"];
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description One page of keys. (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A malformed `limit` or `cursor` (FAAS_ERR_INVALID_QUERY); `field` names it. (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    getKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A key id (12 characters of lowercase base32hex, `0-9a-v`: the `<id>` of `faas_<id>_<secret>`). Any other value, `admin` included, is 404 FAAS_ERR_KEY_NOT_FOUND. */
                key_id: components["parameters"]["KeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key (never its secret). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["KeyInfo"];
                };
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["KeyNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    revokeKey: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A key id (12 characters of lowercase base32hex, `0-9a-v`: the `<id>` of `faas_<id>_<secret>`). Any other value, `admin` included, is 404 FAAS_ERR_KEY_NOT_FOUND. */
                key_id: components["parameters"]["KeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Revoked. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A stray body that is not valid JSON; or a query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY, `field` names it). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_JSON" | "FAAS_ERR_INVALID_REQUEST" | "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["KeyNotFound"];
            405: components["responses"]["MethodNotAllowed"];
            413: components["responses"]["BodyTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    getKeyHead: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description A key id (12 characters of lowercase base32hex, `0-9a-v`: the `<id>` of `faas_<id>_<secret>`). Any other value, `admin` included, is 404 FAAS_ERR_KEY_NOT_FOUND. */
                key_id: components["parameters"]["KeyIdPath"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The key (never its secret). (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY). (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key with this id (FAAS_ERR_KEY_NOT_FOUND). (headers only, no body). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            405: components["responses"]["MethodNotAllowed"];
        };
    };
    healthHead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Alive (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
        };
    };
    ready: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description Not ready: the executor backend or the storage cannot be used, the server is draining, or its Tangle operator stopped (FAAS_ERR_TANGLE_OPERATOR_STOPPED, with the reason). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_SHUTTING_DOWN" | "FAAS_ERR_EXECUTOR_UNAVAILABLE" | "FAAS_ERR_STORE_UNAVAILABLE" | "FAAS_ERR_TANGLE_OPERATOR_STOPPED";
                    };
                };
            };
        };
    };
    readyHead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Ready (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description Not ready (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every metric of this process, in Prometheus' text exposition format 0.0.4. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY); `field` names it. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"] & {
                        /** @enum {string} */
                        code?: "FAAS_ERR_INVALID_QUERY";
                    };
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            405: components["responses"]["MethodNotAllowed"];
            429: components["responses"]["RateLimited"];
            500: components["responses"]["Internal"];
            503: components["responses"]["StoreUnavailable"];
        };
    };
    metricsHead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus metrics (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description A query parameter, which this route does not take (FAAS_ERR_INVALID_QUERY). (headers only, no body). */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description No API key, or one that is unknown, revoked or expired (FAAS_ERR_UNAUTHORIZED). Answered before anything else about the request is looked at. (headers only, no body). */
            401: {
                headers: {
                    "WWW-Authenticate": components["headers"]["WWWAuthenticate"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The key lacks this route's scope, or is not allowed this function (FAAS_ERR_FORBIDDEN). (headers only, no body). */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
            /** @description The key's rate limit is used up (FAAS_ERR_RATE_LIMITED); retry after Retry-After seconds. (headers only, no body). */
            429: {
                headers: {
                    "Retry-After": components["headers"]["RetryAfter"];
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description An unexpected platform fault (FAAS_ERR_INTERNAL). (headers only, no body). */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description The platform storage cannot be used (FAAS_ERR_STORE_UNAVAILABLE). (headers only, no body). */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
        };
    };
    openapi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
            405: components["responses"]["MethodNotAllowed"];
        };
    };
    openapiHead: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The OpenAPI document (headers only, no body). */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            405: components["responses"]["MethodNotAllowed"];
        };
    };
}
