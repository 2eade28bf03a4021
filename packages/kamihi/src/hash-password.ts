/**
 * Hashes a password for `web.passwordHash` (admin password sign-in), with the web admin's own
 * scheme. The admin is imported here, on use, so importing `kamihi` does not load it.
 */
export async function hashPassword(password: string): Promise<string> {
  const admin = await import("@kamihi/admin");
  return admin.hashPassword(password);
}
