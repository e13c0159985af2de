import { createRequire as __nopeaCreateRequire } from 'node:module'; const require = __nopeaCreateRequire(import.meta.url);
import{a}from"./chunk-YDB5NQXV.js";import"./chunk-K3CZSCMP.js";import"./chunk-CGBHUFST.js";import"./chunk-NLZDZFD7.js";import"./chunk-UCJHH7EB.js";import"./chunk-WLAFNRYS.js";import"./chunk-3232KLWI.js";import"./chunk-VMA24CHL.js";export default a();
