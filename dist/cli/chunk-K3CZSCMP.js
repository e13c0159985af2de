import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a as r,b as i}from"./chunk-VMA24CHL.js";var o=i((p,e)=>{e.exports=r("node:stream")});export{o as a};
