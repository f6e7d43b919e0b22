export function schemaStatements(migrations: { name: string; queries: string[] }[]): string[];
