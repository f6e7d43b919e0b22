export function finishUpgrades(base: string, platformToken: string): Promise<{ phase: string; done: boolean }>;
