// The Three.js scene: one plane with the live image and the mask as textures, an orthographic camera
// in CSS pixels. Textures are updated in place; they are reallocated only when a size changes.
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
  readonly renderer: WebGLRenderer;
  readonly canvas: HTMLCanvasElement;
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
    this.renderer = new WebGLRenderer({ antialias: false, alpha: false, powerPreference: 'high-performance', preserveDrawingBuffer: false });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.renderer.setClearColor(new Color(0x111111));
    this.canvas = this.renderer.domElement;
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
    const w = window.innerWidth, h = window.innerHeight;
    this.geom.vw = w;
    this.geom.vh = h;
    this.renderer.setSize(w, h, true);
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
    if (!this.maskTex || this.maskTex.image.width !== w || this.maskTex.image.height !== h) {
      this.maskTex?.dispose();
      this.maskTex = new DataTexture(data, w, h, RedFormat, UnsignedByteType);
      this.maskTex.minFilter = LinearFilter;
      this.maskTex.magFilter = LinearFilter;
      this.maskTex.generateMipmaps = false;
      this.maskTex.unpackAlignment = 1;
      this.material.uniforms.uMask.value = this.maskTex;
      this.material.uniforms.uMaskSize.value = [w, h];
    } else {
      this.maskTex.image.data = data;
    }
    this.maskTex.needsUpdate = true;
    this.material.uniforms.uHasMask.value = 1;
    this.dirty = true;
  }

  /** The comparison model's mask (same size as the live one), drawn per setCompare(). */
  setMask2(data: Uint8Array, w: number, h: number): void {
    if (!this.mask2Tex || this.mask2Tex.image.width !== w || this.mask2Tex.image.height !== h) {
      this.mask2Tex?.dispose();
      this.mask2Tex = new DataTexture(data, w, h, RedFormat, UnsignedByteType);
      this.mask2Tex.minFilter = LinearFilter;
      this.mask2Tex.magFilter = LinearFilter;
      this.mask2Tex.generateMipmaps = false;
      this.mask2Tex.unpackAlignment = 1;
      this.material.uniforms.uMask2.value = this.mask2Tex;
    } else {
      this.mask2Tex.image.data = data;
    }
    this.mask2Tex.needsUpdate = true;
    this.material.uniforms.uHasMask2.value = 1;
    this.dirty = true;
  }

  clearMask2(): void {
    this.material.uniforms.uHasMask2.value = 0;
    this.dirty = true;
  }

  /** How the comparison mask is shown (overlay-shader.ts COMPARE_*); swipeX in CSS px for COMPARE_SWIPE. */
  setCompare(mode: number, swipeX: number): void {
    this.material.uniforms.uCompare.value = mode;
    this.material.uniforms.uSwipePx.value = swipeX * this.renderer.getPixelRatio();
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
    this.material.uniforms.uDividerPx.value = x === null ? -1 : x * this.renderer.getPixelRatio();
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
    this.renderer.render(this.scene, this.camera);
    return true;
  }
}
