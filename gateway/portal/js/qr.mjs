// qr.mjs - QR codes for the portal: draw bytes as a QR code (qrcode-generator, byte mode,
// level M when it fits, else L, as client/cl_qr.h does, so the CLI's `verify --qr` and the
// portal read each other's codes), and read one back from a picture or the camera (jsQR,
// loaded as a plain script that sets window.jsQR; its binaryData is the byte-mode payload
// unchanged).

import qrcode from '../node_modules/qrcode-generator/dist/qrcode.mjs';

export const QR_BYTES_MAX = 2953; // byte mode, version 40, level L (client/cl_qr.h)
const MODULE_PX = 4;
const QUIET_MODULES = 4;

/* The bytes as a binary string: qrcode-generator's default byte conversion keeps c & 0xff. */
function binaryString(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

/*
 * Draws bytes as a QR code on a new canvas (4 px per module, a 4-module white border) and
 * returns it, or null when they do not fit version 40 at level L.
 */
export function qrCanvas(bytes, label) {
  if (bytes.length > QR_BYTES_MAX) return null;
  let qr = null;
  for (const level of ['M', 'L']) {
    try {
      const q = qrcode(0, level);
      q.addData(binaryString(bytes), 'Byte');
      q.make();
      qr = q;
      break;
    } catch {
      /* too long for this level: try the next */
    }
  }
  if (!qr) return null;
  const n = qr.getModuleCount();
  const side = (n + 2 * QUIET_MODULES) * MODULE_PX;
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = side;
  canvas.className = 'qr';
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, side, side);
  ctx.fillStyle = '#000';
  for (let r = 0; r < n; r++)
    for (let c = 0; c < n; c++)
      if (qr.isDark(r, c)) ctx.fillRect((c + QUIET_MODULES) * MODULE_PX, (r + QUIET_MODULES) * MODULE_PX, MODULE_PX, MODULE_PX);
  return canvas;
}

/* The bytes of the QR code in an ImageData, or null when none is found. */
export function qrFromImageData(img) {
  const code = globalThis.jsQR(img.data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
  return code ? new Uint8Array(code.binaryData) : null;
}

/* The bytes of the QR code in a picture file (PNG, JPEG...), or null. */
export async function qrFromFile(file) {
  const bitmap = await createImageBitmap(file);
  // Very large photos are scaled down: jsQR's cost grows with the pixels.
  const scale = Math.min(1, 2000 / Math.max(bitmap.width, bitmap.height));
  const w = Math.round(bitmap.width * scale), h = Math.round(bitmap.height * scale);
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, w, h);
  ctx.drawImage(bitmap, 0, 0, w, h);
  bitmap.close();
  return qrFromImageData(ctx.getImageData(0, 0, w, h));
}

/* True when the file looks like a picture (by type, or PNG/JPEG/GIF/WebP magic). */
export function isImage(file, bytes) {
  if (file.type && file.type.startsWith('image/')) return true;
  const b = bytes;
  return (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) || (b[0] === 0xff && b[1] === 0xd8) || (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) || (b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50);
}

/*
 * Scans the camera for a QR code: shows the video in `video`, calls onCode(bytes) once with
 * the first code read, then stops the camera. Returns stop(), which also releases the
 * camera. Throws when there is no camera or the user refuses it.
 */
export async function scanCamera(video, onCode) {
  const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  video.srcObject = stream;
  video.setAttribute('playsinline', '');
  video.hidden = false;
  await video.play();
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let running = true;
  const stop = () => {
    running = false;
    for (const t of stream.getTracks()) t.stop();
    video.srcObject = null;
    video.hidden = true;
  };
  const tick = () => {
    if (!running) return;
    if (video.readyState >= 2 && video.videoWidth) {
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      ctx.drawImage(video, 0, 0);
      const bytes = qrFromImageData(ctx.getImageData(0, 0, canvas.width, canvas.height));
      if (bytes) {
        stop();
        onCode(bytes);
        return;
      }
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return stop;
}
