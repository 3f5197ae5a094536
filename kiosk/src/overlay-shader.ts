// The overlay shader: the live image, with the crack probability mask drawn over it.
//   mode 0 heat: colour by probability (yellow → red), 1 solid: one colour, 2 outline: crack edges only.
// The threshold is a uniform, so moving the slider changes the picture on the next draw.
// Left of uDividerPx (device px) the overlay is not drawn (compare view). With uSelected > 0 the crack
// whose label equals uSelected is highlighted and the others are dimmed.
// Model comparison (uMask2 = the comparison model's mask), uCompare: 0 off; 1 swipe: left of
// uSwipePx the comparison mask, right of it the live one; 2 the comparison mask only (tap toggle);
// 3 differences: where exactly one model finds a crack, that pixel is drawn in uOnlyLive or
// uOnlyOther, whatever the overlay mode; pixels both find are drawn as usual.

export const MODE_HEAT = 0;
export const MODE_SOLID = 1;
export const MODE_OUTLINE = 2;
export const COMPARE_OFF = 0;
export const COMPARE_SWIPE = 1;
export const COMPARE_OTHER = 2;
export const COMPARE_DIFF = 3;

export const vertexShader = /* glsl */ `
varying vec2 vUv;
void main() {
  vUv = uv;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);
}
`;

export const fragmentShader = /* glsl */ `
precision highp float;
uniform sampler2D uImage;
uniform sampler2D uMask;
uniform sampler2D uLabels;
uniform vec2 uImageSize;
uniform vec2 uMaskSize;
uniform float uHasImage;
uniform float uHasMask;
uniform float uHasLabels;
uniform float uThreshold;
uniform float uOpacity;
uniform int uMode;
uniform vec3 uColor;
uniform float uDividerPx;
uniform float uSelected;
uniform float uPixelated;
uniform sampler2D uMask2;
uniform float uHasMask2;
uniform int uCompare;
uniform float uSwipePx;
uniform vec3 uOnlyLive;
uniform vec3 uOnlyOther;
varying vec2 vUv;
bool useOther;

vec2 snap(vec2 uv, vec2 size) {
  return uPixelated > 0.5 ? (floor(uv * size) + 0.5) / size : uv;
}
float prob(vec2 uv) { return useOther ? texture2D(uMask2, uv).r : texture2D(uMask, uv).r; }
float labelAt(vec2 uv) {
  vec2 t = texture2D(uLabels, uv).rg * 255.0;
  return floor(t.r + 0.5) + 256.0 * floor(t.g + 0.5);
}
vec3 heat(float p) {
  float k = clamp((p - uThreshold) / max(1e-3, 1.0 - uThreshold), 0.0, 1.0);
  return mix(vec3(1.0, 0.92, 0.1), vec3(1.0, 0.05, 0.05), k);
}

void main() {
  vec2 uv = vec2(vUv.x, 1.0 - vUv.y); // textures are stored top row first
  vec3 base = uHasImage > 0.5 ? texture2D(uImage, snap(uv, uImageSize)).rgb : vec3(0.08);
  vec3 col = base;
  if (uHasMask > 0.5 && gl_FragCoord.x >= uDividerPx) {
    vec2 muv = snap(uv, uMaskSize);
    bool cmp = uHasMask2 > 0.5 && uCompare > 0;
    useOther = cmp && (uCompare == 2 || (uCompare == 1 && gl_FragCoord.x < uSwipePx));
    float p = prob(muv);
    if (cmp && uCompare == 3) {
      bool a = texture2D(uMask, muv).r >= uThreshold;
      bool b = texture2D(uMask2, muv).r >= uThreshold;
      if (a != b) {
        gl_FragColor = vec4(mix(base, a ? uOnlyLive : uOnlyOther, 0.9), 1.0);
        return;
      }
    }
    bool on = p >= uThreshold;
    bool draw = on;
    if (uMode == 2 && on) {
      vec2 d = 1.0 / uMaskSize;
      float mn = min(min(prob(muv + vec2(d.x, 0.0)), prob(muv - vec2(d.x, 0.0))), min(prob(muv + vec2(0.0, d.y)), prob(muv - vec2(0.0, d.y))));
      draw = mn < uThreshold;
    }
    if (uHasLabels > 0.5 && uSelected > 0.0) {
      float l = labelAt(muv);
      if (abs(l - uSelected) < 0.5) {
        col = mix(base, vec3(0.0, 0.9, 1.0), 0.9);
      } else if (draw) {
        col = mix(base, uMode == 0 ? heat(p) : uColor, uOpacity * 0.35);
      }
    } else if (draw) {
      col = mix(base, uMode == 0 ? heat(p) : uColor, uOpacity);
    }
  }
  gl_FragColor = vec4(col, 1.0);
}
`;
