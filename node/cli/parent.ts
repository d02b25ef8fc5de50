/**
 * The pid of the process that started this one, read as early as the CLI can (imported
 * first): a node stops when it changes (its launcher — npx, a shell — is gone).
 */
export const startedBy = process.ppid
