/** TwiML replies (https://www.twilio.com/docs/messaging/twiml, /docs/voice/twiml). */
const XML = '<?xml version="1.0" encoding="UTF-8"?>';

/** No automatic answer to a text: admins reply from the workspace. */
export const EMPTY_RESPONSE = `${XML}<Response/>`;

/** What a caller hears: the call is logged on their member; someone calls back. */
export const VOICE_GREETING = `${XML}<Response><Say>Thanks for calling. We have your number and will get back to you soon.</Say><Hangup/></Response>`;
