export function openApiDocument(): Promise<Record<string, unknown>>;
export function openApiTypes(document: unknown): Promise<string>;
