/** The function registry: `/functions` and `/functions/{function_id}`. */
import type { CallOptions, Transport } from './call.js';
import { everyItem } from './paging.js';
import type { FunctionCreate, FunctionInfo, FunctionList, FunctionPatch, ListFunctionsQuery } from './types.js';

export interface VersionedOptions extends CallOptions {
  /** Apply only at this version (a number, or the ETag `"<n>"`; `*` for any): else 412 ConflictError. */
  ifMatch?: number | string;
}

function ifMatchHeader(ifMatch: number | string | undefined): { 'If-Match'?: string } {
  if (ifMatch === undefined) return {};
  return { 'If-Match': typeof ifMatch === 'number' ? `"${ifMatch}"` : ifMatch };
}

export class Functions {
  constructor(private readonly t: Transport) {}

  /** Registers a function (201); ConflictError FAAS_ERR_FUNCTION_EXISTS if the id is taken. */
  async create(definition: FunctionCreate, options?: CallOptions): Promise<FunctionInfo> {
    const { data } = await this.t.call(options, (init) => this.t.api.POST('/functions', { body: definition, ...init }));
    return data;
  }

  /** One page, ordered by id; pass `next_cursor` back as `cursor` for the next. */
  async list(query: ListFunctionsQuery = {}, options?: CallOptions): Promise<FunctionList> {
    const { data } = await this.t.call(options, (init) => this.t.api.GET('/functions', { params: { query }, ...init }));
    return data;
  }

  /** Every function the key may see, page after page. */
  all(query: Omit<ListFunctionsQuery, 'cursor'> = {}, options?: CallOptions): AsyncGenerator<FunctionInfo, void, undefined> {
    return everyItem(
      (cursor) => this.list({ ...query, ...(cursor === undefined ? {} : { cursor }) }, options),
      (page) => page.functions,
    );
  }

  async get(functionId: string, options?: CallOptions): Promise<FunctionInfo> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.GET('/functions/{function_id}', { params: { path: { function_id: functionId } }, ...init }),
    );
    return data;
  }

  /** A JSON merge patch: fields present replace, null resets to the default, `secrets` and `limits` merge by member. */
  async update(functionId: string, patch: FunctionPatch, options?: VersionedOptions): Promise<FunctionInfo> {
    const { data } = await this.t.call(options, (init) =>
      this.t.api.PATCH('/functions/{function_id}', {
        params: { path: { function_id: functionId }, header: ifMatchHeader(options?.ifMatch) },
        body: patch,
        ...init,
      }),
    );
    return data;
  }

  async delete(functionId: string, options?: VersionedOptions): Promise<void> {
    await this.t.call(options, (init) =>
      this.t.api.DELETE('/functions/{function_id}', {
        params: { path: { function_id: functionId }, header: ifMatchHeader(options?.ifMatch) },
        ...init,
      }),
    );
  }
}
