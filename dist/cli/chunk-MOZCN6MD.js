import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a as r,b as i}from"./chunk-ZK746YBK.js";var o=i((p,e)=>{e.exports=r("node:path")});export{o as a};
