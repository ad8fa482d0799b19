/**
 * The reference target's profiles, as the harness names them: `audited` behaves as the audit's text says,
 * `as-built` as the audited code really does (measured on the real backend), `hardened` with every finding
 * fixed. The target's own list is fixtures/secureconnect/target/kit/profiles.ts (a test keeps them equal).
 */
export const REFERENCE_PROFILES = ['audited', 'as-built', 'hardened'] as const;
export type ReferenceProfile = (typeof REFERENCE_PROFILES)[number];
