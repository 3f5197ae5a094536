// The gallery drawer: saved captures as thumbnails; open one in the viewer, download its files,
// delete it (sends the admin token if one was typed). Every failure is shown.
import { api, adminToken, captureUrl, type CaptureSummary, type SurveySummary } from './api.js';
import { $, show, toast } from './dom.js';
import { Drawer } from './drawer.js';
import { getLang, t } from './i18n.js';
import { surveyUrl } from './survey-view.js';

export class Gallery extends Drawer {
  private items: CaptureSummary[] = [];
  private surveys: SurveySummary[] = [];
  private selected: string | null = null;

  constructor(private readonly open: (id: string) => void, private readonly openSurvey: (s: SurveySummary) => void) {
    super($('gallery'));
    $('gallery-close').addEventListener('click', () => this.hide());
    const tok = $<HTMLInputElement>('admin-token');
    tok.value = adminToken.get();
    tok.addEventListener('change', () => adminToken.set(tok.value.trim()));
    $('detail-open').addEventListener('click', () => this.selected && this.open(this.selected));
    $('detail-delete').addEventListener('click', () => void this.remove());
  }

  async refresh(): Promise<void> {
    try {
      [this.items, this.surveys] = await Promise.all([
        api<{ captures: CaptureSummary[] }>('GET', 'captures').then((r) => r.captures),
        api<{ surveys: SurveySummary[] }>('GET', 'surveys').then((r) => r.surveys),
      ]);
    } catch (err) {
      toast(`${t('gallery')}: ${(err as Error).message}`, true);
      return;
    }
    this.render();
  }

  private label(c: CaptureSummary): string {
    const d = new Date(c.createdAt);
    const time = Number.isNaN(d.getTime()) ? c.id : d.toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en-GB', { dateStyle: 'short', timeStyle: 'medium' });
    const n = c.crackCount === undefined ? '' : getLang() === 'zh' ? ` · ${c.crackCount} ${t('cracks')}` : ` · ${c.crackCount} ${t('cracks')}`;
    return time + n;
  }

  render(): void {
    const list = $('gallery-list');
    list.replaceChildren();
    if (this.items.length === 0) {
      const p = document.createElement('p');
      p.textContent = t('gallery_empty');
      list.appendChild(p);
    }
    for (const c of this.items) {
      const b = document.createElement('button');
      b.className = 'thumb' + (c.id === this.selected ? ' sel' : '');
      b.dataset.id = c.id;
      const img = document.createElement('img');
      img.src = captureUrl(c.id, 'thumb.jpg');
      img.alt = c.id;
      const s = document.createElement('span');
      s.textContent = this.label(c);
      b.append(img, s);
      b.addEventListener('click', () => this.select(c.id));
      list.appendChild(b);
    }
    this.renderSurveys();
    const sel = this.items.find((c) => c.id === this.selected);
    show($('gallery-detail'), !!sel);
    if (sel) {
      $<HTMLImageElement>('detail-img').src = captureUrl(sel.id, 'thumb.jpg');
      $('detail-meta').textContent = `${this.label(sel)} · ${(sel.bytes / 1024).toFixed(0)} KB · ${sel.source ?? ''}`;
      $<HTMLAnchorElement>('dl-image').href = captureUrl(sel.id, 'image.jpg', true);
      $<HTMLAnchorElement>('dl-mask').href = captureUrl(sel.id, 'mask.png', true);
      $<HTMLAnchorElement>('dl-report').href = captureUrl(sel.id, 'report.json', true);
    }
  }

  private renderSurveys(): void {
    const list = $('survey-list');
    list.replaceChildren();
    if (this.surveys.length === 0) {
      const p = document.createElement('p');
      p.textContent = t('surveys_empty');
      list.appendChild(p);
    }
    for (const s of this.surveys) {
      const b = document.createElement('button');
      b.className = 'thumb survey';
      b.dataset.survey = s.name;
      const img = document.createElement('img');
      img.src = surveyUrl(s.name, 'overview.jpg');
      img.alt = s.name;
      const span = document.createElement('span');
      const len = s.lengthMm !== null ? `${(s.lengthMm / 1000).toFixed(2)} m` : `${Math.round(s.lengthPx)} px`;
      span.textContent = `${s.name} · ${(s.width * s.height / 1e6).toFixed(0)} MP · ${s.cracks} ${t('cracks')} · ${len}`;
      b.append(img, span);
      b.addEventListener('click', () => { this.hide(); this.openSurvey(s); });
      list.appendChild(b);
    }
  }

  select(id: string): void {
    this.selected = id;
    this.render();
  }

  private async remove(): Promise<void> {
    const id = this.selected;
    if (!id) return;
    try {
      await api('DELETE', `captures/${encodeURIComponent(id)}`, undefined, true);
      toast(t('deleted'));
      this.selected = null;
      await this.refresh();
    } catch (err) {
      toast(`${t('delete_failed')}: ${(err as Error).message}`, true);
    }
  }
}
