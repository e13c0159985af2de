import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a as e,b as r}from"./chunk-VMA24CHL.js";var p=r((s,i)=>{i.exports=e("node:http")});var q=r((t,o)=>{o.exports=e("node:https")});export{p as a,q as b};
