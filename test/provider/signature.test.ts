import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formParams, twilioSignature, verifyTwilioSignature } from "../../worker/provider/signature";
import { getExpectedTwilioSignature, validateRequest } from "./twilio";

const asForm = (params: Record<string, string>) => formParams(new URLSearchParams(params).toString());

/**
 * Twilio's published example (twilio.com/docs/usage/security, and the helper libraries'
 * docs): auth token 12345, this URL and these parameters sign to this value.
 */
const PUBLISHED = {
  authToken: "12345",
  url: "https://mycompany.com/myapp.php?foo=1&bar=2",
  params: {
    CallSid: "CA1234567890ABCDE",
    Caller: "+14158675309",
    Digits: "1234",
    From: "+14158675309",
    To: "+18005551212",
  },
  signature: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
};

describe("the Twilio signature", () => {
  it("accepts Twilio's published example request", async () => {
    const { authToken, url, params, signature } = PUBLISHED;
    expect(await twilioSignature(authToken, url, asForm(params))).toBe(signature);
    expect(await verifyTwilioSignature(authToken, signature, url, asForm(params))).toBe(true);
    // The official helper agrees on the same vector.
    expect(validateRequest(authToken, signature, url, params)).toBe(true);
  });

  it("accepts the later published variant of the example (Caller +14158675310)", async () => {
    const params = { ...PUBLISHED.params, Caller: "+14158675310", From: "+14158675310" };
    expect(await verifyTwilioSignature("12345", "GvWf1cFY/Q7PnoempGyD5oXAezc=", PUBLISHED.url, asForm(params))).toBe(
      true,
    );
  });

  it("refuses the published signature once any parameter, the URL or the token differs", async () => {
    const { authToken, url, params, signature } = PUBLISHED;
    expect(await verifyTwilioSignature(authToken, signature, url, asForm({ ...params, Digits: "1235" }))).toBe(false);
    expect(await verifyTwilioSignature(authToken, signature, `${url}&baz=3`, asForm(params))).toBe(false);
    expect(await verifyTwilioSignature("12346", signature, url, asForm(params))).toBe(false);
    expect(await verifyTwilioSignature(authToken, undefined, url, asForm(params))).toBe(false);
    expect(await verifyTwilioSignature(authToken, "not base64!", url, asForm(params))).toBe(false);
    expect(await verifyTwilioSignature(authToken, "", url, asForm(params))).toBe(false);
  });

  it("accepts the URL with or without its default port, as Twilio's helper does", async () => {
    const { authToken, params } = PUBLISHED;
    const withPort = await twilioSignature(
      authToken,
      "https://mycompany.com:443/myapp.php?foo=1&bar=2",
      asForm(params),
    );
    expect(await verifyTwilioSignature(authToken, withPort, PUBLISHED.url, asForm(params))).toBe(true);
    expect(validateRequest(authToken, withPort, PUBLISHED.url, params)).toBe(true);
    const local = await twilioSignature(authToken, "http://localhost/hook", asForm(params));
    expect(await verifyTwilioSignature(authToken, local, "http://localhost:8787/hook", asForm(params))).toBe(true);
  });

  it("computes what the official twilio package computes, for any parameters", async () => {
    const key = fc.string({ minLength: 1, maxLength: 12 });
    const value = fc.string({ maxLength: 40, unit: "binary" });
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, value, { maxKeys: 8 }), fc.webPath(), async (params, path) => {
        const url = `https://example.com/hook${path}`;
        // Round-trip through a form body, as the Worker receives it.
        const received = formParams(new URLSearchParams(params).toString());
        const sent = Object.fromEntries([...received].map(([k, v]) => [k, v[0] ?? ""]));
        const expected = getExpectedTwilioSignature("tok3n-secret", url, sent);
        expect(await twilioSignature("tok3n-secret", url, received)).toBe(expected);
        expect(await verifyTwilioSignature("tok3n-secret", expected, url, received)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it("signs a repeated parameter as the helper does: each distinct value, sorted", async () => {
    const received = formParams("MediaUrl=b&MediaUrl=a&MediaUrl=b&Body=hi");
    const expected = getExpectedTwilioSignature("t", "https://x.test/h", { MediaUrl: ["b", "a", "b"], Body: "hi" });
    expect(await twilioSignature("t", "https://x.test/h", received)).toBe(expected);
  });
});
