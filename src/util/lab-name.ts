/**
 * The lab every command uses unless told otherwise (`lab up/status/down --name`, `run --lab`, `scenario run
 * --lab`, `target … --name`, scripts/main): one name, so following the README never starts a second lab.
 * Its namespace is `sch-default`.
 */
export const DEFAULT_LAB = 'default';
