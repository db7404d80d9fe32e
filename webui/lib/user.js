// Who is signed in and what they may do: Kerma writes it into the page (a <meta>, as no inline script may run),
// so the UI needs no request for it. The server enforces the roles; the UI only hides what would be refused.
const meta = document.querySelector('meta[name="kerma-user"]');
export const me = (meta && JSON.parse(meta.content)) || { user: null, roles: [], may: [] };

// Whether the user has `role` or a role above it (viewer < radiographer < radiologist < physicist < admin).
export const can = (role) => me.may.includes(role);
