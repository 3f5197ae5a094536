// The Three.js scene: one plane with the live image and the mask as textures, an orthographic camera
// in CSS pixels. Textures are updated in place; they are reallocated only when a size changes.
// Without WebGL (no GPU driver the browser can use — e.g. Chromium on a Jetson without a working
// GL stack, where M139+ no longer falls back to SwiftShader), the same Viewer draws with Canvas2D:
// the image, and the mask above the threshold tinted (heat: by probability), with the same
// pan/zoom; comparison, outline and crack selection are left out. The page says so in a notice.
import {
  Color,
  DataTexture,
  LinearFilter,
  Mesh,
  NearestFilter,
  OrthographicCamera,
  PlaneGeometry,
  RGFormat,
  RedFormat,
  Scene,
  ShaderMaterial,
  NoColorSpace,
  Texture,
  UnsignedByteType,
  WebGLRenderer,
} from 'three';
import { fragmentShader, vertexShader, MODE_HEAT, COMPARE_OFF } from './overlay-shader.js';
import { clampView, scaleOf, type Geometry, type ViewState } from './viewstate.js';

export interface OverlaySettings {
  mode: number;
  opacity: number;
  threshold: number;
}

export class Viewer {
  /** null when WebGL could not be had: the Canvas2D fallback draws instead */
  readonly renderer: WebGLRenderer | null;
  readonly canvas: HTMLCanvasElement;
  /** 'webgl', or '2d' for the fallback */
  readonly backend: 'webgl' | '2d';
  private ctx2d: CanvasRenderingContext2D | null = null;
  private readonly pixelRatio = Math.min(2, window.devicePixelRatio || 1);
  private maskLayer: HTMLCanvasElement | null = null;
  private maskLayerKey = '';
  readonly view: ViewState = { zoom: 1, panX: 0, panY: 0 };
  readonly geom: Geometry = { vw: 1, vh: 1, iw: 640, ih: 480 };
  private scene = new Scene();
  private camera = new OrthographicCamera(-1, 1, 1, -1, -10, 10);
  private mesh: Mesh;
  private material: ShaderMaterial;
  private imageTex: Texture | null = null;
  private maskTex: DataTexture | null = null;
  private labelTex: DataTexture | null = null;
  private mask2Tex: DataTexture | null = null;
  private bitmap: ImageBitmap | null = null;
  dirty = true;

  constructor(container: HTMLElement) {
    let renderer: WebGLRenderer | null = null;
    let why = '';
    try {
      renderer = new WebGLRenderer({ antialias: false, alpha: false, powerPreference: 'high-performance', preserveDrawingBuffer: false });
    } catch (err) {
      why = (err as Error).message || String(err);
    }
    this.renderer = renderer;
    this.backend = renderer ? 'webgl' : '2d';
    if (renderer) {
      renderer.setPixelRatio(this.pixelRatio);
      renderer.setClearColor(new Color(0x111111));
      this.canvas = renderer.domElement;
    } else {
      this.canvas = document.createElement('canvas');
      this.ctx2d = this.canvas.getContext('2d');
      console.warn(`crackscope: WebGL unavailable (${why}); drawing with Canvas2D`);
      const note = document.createElement('div');
      note.id = 'webgl-fallback';
      note.setAttribute('role', 'status');
      note.textContent = 'WebGL is not available here: simplified view (no comparison or outline)';
      note.style.cssText =
        'position:fixed;left:50%;bottom:4px;transform:translateX(-50%);z-index:50;padding:2px 10px;border-radius:4px;background:rgba(0,0,0,.6);color:#fc6;font:13px sans-serif;pointer-events:none';
      container.appendChild(note);
    }
    document.documentElement.dataset.renderer = this.backend;
    this.canvas.id = 'view';
    container.appendChild(this.canvas);
    this.material = new ShaderMaterial({
      vertexShader,
      fragmentShader,
      uniforms: {
        uImage: { value: null },
        uMask: { value: null },
        uLabels: { value: null },
        uImageSize: { value: [1, 1] },
        uMaskSize: { value: [1, 1] },
        uHasImage: { value: 0 },
        uHasMask: { value: 0 },
        uHasLabels: { value: 0 },
        uThreshold: { value: 0.5 },
        uOpacity: { value: 0.7 },
        uMode: { value: MODE_HEAT },
        uColor: { value: new Color(1, 0, 1) },
        uDividerPx: { value: -1 },
        uSelected: { value: 0 },
        uPixelated: { value: 0 },
        uMask2: { value: null },
        uHasMask2: { value: 0 },
        uCompare: { value: COMPARE_OFF },
        uSwipePx: { value: -1 },
        uOnlyLive: { value: new Color(0.2, 1, 0.2) },
        uOnlyOther: { value: new Color(0, 0.75, 1) },
      },
    });
    this.mesh = new Mesh(new PlaneGeometry(1, 1), this.material);
    this.scene.add(this.mesh);
    this.resize();
    window.addEventListener('resize', () => this.resize());
  }

  resize(): void {
    const w = window.innerWidth,
      h = window.innerHeight;
    this.geom.vw = w;
    this.geom.vh = h;
    if (this.renderer) this.renderer.setSize(w, h, true);
    else {
      this.canvas.width = Math.round(w * this.pixelRatio);
      this.canvas.height = Math.round(h * this.pixelRatio);
      this.canvas.style.width = `${w}px`;
      this.canvas.style.height = `${h}px`;
    }
    this.camera.left = -w / 2;
    this.camera.right = w / 2;
    this.camera.top = h / 2;
    this.camera.bottom = -h / 2;
    this.camera.updateProjectionMatrix();
    clampView(this.view, this.geom);
    this.dirty = true;
  }

  /** Shows a decoded image; the previous bitmap is closed once replaced. */
  setImage(bmp: ImageBitmap): void {
    const sizeChanged = !this.imageTex || bmp.width !== this.geom.iw || bmp.height !== this.geom.ih;
    if (sizeChanged) {
      this.imageTex?.dispose();
      this.imageTex = new Texture(bmp);
      this.imageTex.flipY = false;
      this.imageTex.colorSpace = NoColorSpace; // JPEG bytes go to the screen as they are
      this.imageTex.minFilter = LinearFilter;
      this.imageTex.magFilter = LinearFilter;
      this.imageTex.generateMipmaps = false;
      this.material.uniforms.uImage.value = this.imageTex;
      this.geom.iw = bmp.width;
      this.geom.ih = bmp.height;
      this.material.uniforms.uImageSize.value = [bmp.width, bmp.height];
      clampView(this.view, this.geom);
    } else {
      this.imageTex!.image = bmp;
    }
    this.imageTex!.needsUpdate = true;
    this.material.uniforms.uHasImage.value = 1;
    if (this.bitmap && this.bitmap !== bmp) this.bitmap.close();
    this.bitmap = bmp;
    this.dirty = true;
  }

  /**
   * Uploads `data` (w×h, uint8). The texture is reused while the size stays the same; the caller
   * double-buffers, so only the array reference behind the texture changes (no allocation).
   */
  setMask(data: Uint8Array, w: number, h: number): void {
    const resized = !this.maskTex || this.maskTex.image.width !== w || this.maskTex.image.height !== h;
    this.maskTex = this.uploadMask(this.maskTex, data, w, h, 'uMask', 'uHasMask');
    if (resized) this.material.uniforms.uMaskSize.value = [w, h];
  }

  /** The comparison model's mask (same size as the live one), drawn per setCompare(). */
  setMask2(data: Uint8Array, w: number, h: number): void {
    this.mask2Tex = this.uploadMask(this.mask2Tex, data, w, h, 'uMask2', 'uHasMask2');
  }

  /** One mask texture slot: a new texture when the size changes, else new bytes in the same one. */
  private uploadMask(tex: DataTexture | null, data: Uint8Array, w: number, h: number, slot: 'uMask' | 'uMask2', has: 'uHasMask' | 'uHasMask2'): DataTexture {
    if (!tex || tex.image.width !== w || tex.image.height !== h) {
      tex?.dispose();
      tex = new DataTexture(data, w, h, RedFormat, UnsignedByteType);
      tex.minFilter = LinearFilter;
      tex.magFilter = LinearFilter;
      tex.generateMipmaps = false;
      tex.unpackAlignment = 1;
      this.material.uniforms[slot].value = tex;
    } else {
      tex.image.data = data;
    }
    tex.needsUpdate = true;
    this.material.uniforms[has].value = 1;
    this.dirty = true;
    return tex;
  }

  clearMask2(): void {
    this.material.uniforms.uHasMask2.value = 0;
    this.dirty = true;
  }

  /** How the comparison mask is shown (overlay-shader.ts COMPARE_*); swipeX in CSS px for COMPARE_SWIPE. */
  setCompare(mode: number, swipeX: number): void {
    this.material.uniforms.uCompare.value = mode;
    this.material.uniforms.uSwipePx.value = swipeX * this.pixelRatio;
    this.dirty = true;
  }

  clearMask(): void {
    this.material.uniforms.uHasMask.value = 0;
    this.dirty = true;
  }

  /** Label map (crack id per mask pixel) as two bytes per pixel (low, high); null removes it. */
  setLabels(labels: Uint16Array | null, w: number, h: number): void {
    this.labelTex?.dispose();
    this.labelTex = null;
    if (labels) {
      const rg = new Uint8Array(labels.buffer, labels.byteOffset, labels.byteLength); // little-endian: low byte first
      this.labelTex = new DataTexture(rg, w, h, RGFormat, UnsignedByteType);
      this.labelTex.minFilter = NearestFilter;
      this.labelTex.magFilter = NearestFilter;
      this.labelTex.generateMipmaps = false;
      this.labelTex.unpackAlignment = 1;
      this.labelTex.needsUpdate = true;
    }
    this.material.uniforms.uLabels.value = this.labelTex;
    this.material.uniforms.uHasLabels.value = labels ? 1 : 0;
    if (!labels) this.material.uniforms.uSelected.value = 0;
    this.dirty = true;
  }

  setSelected(id: number): void {
    this.material.uniforms.uSelected.value = id;
    this.dirty = true;
  }

  setOverlay(o: OverlaySettings): void {
    const u = this.material.uniforms;
    u.uMode.value = o.mode;
    u.uOpacity.value = o.opacity;
    u.uThreshold.value = o.threshold;
    this.dirty = true;
  }

  /** Divider position in CSS px from the left; null = overlay everywhere. */
  setDivider(x: number | null): void {
    this.material.uniforms.uDividerPx.value = x === null ? -1 : x * this.pixelRatio;
    this.dirty = true;
  }

  /** Draws if anything changed. Returns true if it drew. */
  render(): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    const s = scaleOf(this.view, this.geom);
    this.mesh.scale.set(this.geom.iw * s, this.geom.ih * s, 1);
    this.mesh.position.set(this.view.panX, -this.view.panY, 0);
    this.material.uniforms.uPixelated.value = s >= 4 ? 1 : 0;
    if (this.renderer) this.renderer.render(this.scene, this.camera);
    else this.render2d(s);
    return true;
  }

  /** The Canvas2D fallback: the image and the thresholded mask, at the same place as the WebGL plane. */
  private render2d(s: number): void {
    const ctx = this.ctx2d;
    if (!ctx) return;
    const u = this.material.uniforms;
    const r = this.pixelRatio;
    ctx.setTransform(r, 0, 0, r, 0, 0);
    ctx.fillStyle = '#111';
    ctx.fillRect(0, 0, this.geom.vw, this.geom.vh);
    const dw = this.geom.iw * s,
      dh = this.geom.ih * s;
    const x = this.geom.vw / 2 + this.view.panX - dw / 2;
    const y = this.geom.vh / 2 + this.view.panY - dh / 2;
    ctx.imageSmoothingEnabled = s < 4;
    if (this.bitmap && u.uHasImage.value) ctx.drawImage(this.bitmap, x, y, dw, dh);
    const mask = this.maskTex?.image as { data: Uint8Array; width: number; height: number } | undefined;
    if (!mask || !u.uHasMask.value) return;
    const key = `${u.uThreshold.value}|${u.uOpacity.value}|${u.uMode.value}|${mask.width}x${mask.height}`;
    if (!this.maskLayer || this.maskLayerKey !== key || this.maskTex!.version !== this.maskLayerVersion) {
      this.maskLayer ??= document.createElement('canvas');
      this.maskLayer.width = mask.width;
      this.maskLayer.height = mask.height;
      const mctx = this.maskLayer.getContext('2d')!;
      const img = mctx.createImageData(mask.width, mask.height);
      const cut = Math.round(u.uThreshold.value * 255);
      const heat = u.uMode.value === MODE_HEAT;
      const alpha = u.uOpacity.value * 255;
      for (let i = 0, o = 0; i < mask.data.length; i++, o += 4) {
        const v = mask.data[i];
        if (v < cut) continue;
        img.data[o] = 255;
        img.data[o + 1] = heat ? 255 - v : 0;
        img.data[o + 2] = heat ? 0 : 255;
        img.data[o + 3] = heat ? alpha * (0.4 + 0.6 * (v / 255)) : alpha;
      }
      mctx.putImageData(img, 0, 0);
      this.maskLayerKey = key;
      this.maskLayerVersion = this.maskTex!.version;
    }
    const divider = u.uDividerPx.value as number;
    if (divider >= 0) {
      // overlay only right of the divider, as the shader does
      ctx.save();
      ctx.beginPath();
      ctx.rect(divider / r, 0, this.geom.vw, this.geom.vh);
      ctx.clip();
      ctx.drawImage(this.maskLayer, x, y, dw, dh);
      ctx.restore();
    } else ctx.drawImage(this.maskLayer, x, y, dw, dh);
  }

  private maskLayerVersion = -1;
}
