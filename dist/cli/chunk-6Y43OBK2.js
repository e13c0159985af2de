import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
function o(r){let t=new URL(r);if(t.protocol!=="http:"&&t.protocol!=="https:")throw new Error(`${t.protocol} is not http(s)`);return t}function n(r){try{let t=new URL(r);return`${t.protocol}//${t.host}${t.pathname}`}catch{return"(not a URL)"}}export{o as a,n as b};
