import { parsePhoneNumberFromString } from "libphonenumber-js/min";

export type NormalizedPhone = { e164: string; national: string };

/** E.164 plus the national number, or null when it is not a valid phone number. */
export function normalizePhone(input: string): NormalizedPhone | null {
  const parsed = parsePhoneNumberFromString(input.trim());
  if (!parsed?.isValid()) return null;
  return { e164: parsed.number, national: parsed.nationalNumber };
}
