import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a,b,c}from"./chunk-OZ6PFHYV.js";import"./chunk-WLAFNRYS.js";import"./chunk-3232KLWI.js";import"./chunk-VMA24CHL.js";export{b as HttpProxyAgent,c as HttpsProxyAgent,a as default};
