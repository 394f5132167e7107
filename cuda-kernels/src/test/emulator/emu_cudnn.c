// The emulated GPU's cuDNN: the mock's libcudnn.so.9 (../shared/gpu/mock-driver/mock_cudnn.c, included below with
// its computing functions renamed), which checks every call's descriptors and pointers, followed by the computation
// itself on the host memory that stands for device memory. Plain loops (statistics in double, convolutions as float
// matrix products) written from cuDNN's documented semantics for NCHW, packed 4-d descriptors (the only ones the mock
// accepts): convolution forward, backward data and backward filter (cross-correlation or convolution mode, groups,
// stride, padding, dilation); spatial batch normalisation for training (saved mean and inverse standard deviation,
// running statistics with the unbiased variance), inference and backward; max and average pooling forward and
// backward. alpha = 1 and beta = 0 throughout, which the mock enforces. While the stream is being captured into a CUDA
// graph (emu_runtime.cpp) a call is checked at once and computed at every launch of the graph, as cuDNN's kernels are.
#define cudnnConvolutionForward mock_cudnnConvolutionForward
#define cudnnConvolutionBackwardData mock_cudnnConvolutionBackwardData
#define cudnnConvolutionBackwardFilter mock_cudnnConvolutionBackwardFilter
#define cudnnBatchNormalizationForwardTraining mock_cudnnBatchNormalizationForwardTraining
#define cudnnBatchNormalizationForwardInference mock_cudnnBatchNormalizationForwardInference
#define cudnnBatchNormalizationBackward mock_cudnnBatchNormalizationBackward
#define cudnnPoolingForward mock_cudnnPoolingForward
#define cudnnPoolingBackward mock_cudnnPoolingBackward
#include "mock_cudnn.c"
#undef cudnnConvolutionForward
#undef cudnnConvolutionBackwardData
#undef cudnnConvolutionBackwardFilter
#undef cudnnBatchNormalizationForwardTraining
#undef cudnnBatchNormalizationForwardInference
#undef cudnnBatchNormalizationBackward
#undef cudnnPoolingForward
#undef cudnnPoolingBackward
#include <math.h>

enum { FORWARD, BACKWARD_DATA, BACKWARD_FILTER };

// The emulated driver's guard-band check (emu_runtime.cpp): a call that wrote outside its buffers fails as cuDNN's
// CUDNN_STATUS_EXECUTION_FAILED, with the emulator's line on stderr naming it.
int emu_check_guards(const char *after);
static int guarded(const char *call, int st) { return st == ST_OK && emu_check_guards(call) ? 5000 : st; }

// One image and group as a matrix product over its unfolded input (im2col): cols [Cg * R * S, OH * OW] holds, for
// filter tap j = (c, r, s) and output position p = (oh, ow), the input value tap j sees from p (0 in the padding).
// Forward y[k, p] = sum_j w[k, j] cols[j, p]; backward data dcols[j, p] = sum_k w[k, j] dy[k, p], folded back into dx;
// backward filter dw[k, j] += sum_p dy[k, p] cols[j, p]. Float sums, as cuDNN's: x [n, c, h, w], w [k, c / groups, r, s],
// y [n, k, oh, ow].
static void convolve(int dir, const tdesc *xd, const float *x, const tdesc *wd, const float *w, const cdesc *cd,
                     const tdesc *yd, const float *y, float *out) {
  int N = xd->n, C = xd->c, H = xd->h, W = xd->w, K = wd->n, Cg = wd->c, R = wd->h, S = wd->w, OH = yd->h, OW = yd->w;
  int G = cd->groups, Kg = K / G, J = Cg * R * S, P = OH * OW;
  float *cols = malloc(sizeof(float) * (size_t)J * P);
  if (dir == BACKWARD_FILTER) memset(out, 0, sizeof(float) * (size_t)K * J);
  for (int n = 0; n < N; n++)
    for (int g = 0; g < G; g++) {
      const float *xg = dir == BACKWARD_DATA ? NULL : x + ((size_t)n * C + (size_t)g * Cg) * H * W;
      float *dxg = dir == BACKWARD_DATA ? out + ((size_t)n * C + (size_t)g * Cg) * H * W : NULL;
      // the filter index of tap j: CUDNN_CONVOLUTION (mode 0) flips the filter, CUDNN_CROSS_CORRELATION (1) does not
      #define TAP(c, r, s) (((c) * R + (cd->mode == 0 ? R - 1 - (r) : (r))) * S + (cd->mode == 0 ? S - 1 - (s) : (s)))
      if (xg)
        for (int c = 0; c < Cg; c++)
          for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++) {
              float *row = cols + (size_t)TAP(c, r, s) * P;
              for (int oh = 0; oh < OH; oh++) {
                int ih = oh * cd->sh - cd->ph + r * cd->dh;
                for (int ow = 0; ow < OW; ow++) {
                  int iw = ow * cd->sw - cd->pw + s * cd->dw;
                  row[oh * OW + ow] = ih >= 0 && ih < H && iw >= 0 && iw < W ? xg[((size_t)c * H + ih) * W + iw] : 0.f;
                }
              }
            }
      if (dir == FORWARD) {
        float *yg = out + ((size_t)n * K + (size_t)g * Kg) * P;
        for (int k = 0; k < Kg; k++) {
          float *yr = yg + (size_t)k * P;
          const float *wr = w + (size_t)(g * Kg + k) * J;
          for (int p = 0; p < P; p++) yr[p] = 0.f;
          for (int j = 0; j < J; j++) {
            float a = wr[j];
            const float *cr = cols + (size_t)j * P;
            for (int p = 0; p < P; p++) yr[p] += a * cr[p];
          }
        }
      } else if (dir == BACKWARD_DATA) {
        const float *dyg = y + ((size_t)n * K + (size_t)g * Kg) * P;
        memset(cols, 0, sizeof(float) * (size_t)J * P);
        for (int k = 0; k < Kg; k++) {
          const float *wr = w + (size_t)(g * Kg + k) * J, *dyr = dyg + (size_t)k * P;
          for (int j = 0; j < J; j++) {
            float a = wr[j];
            float *cr = cols + (size_t)j * P;
            for (int p = 0; p < P; p++) cr[p] += a * dyr[p];
          }
        }
        memset(dxg, 0, sizeof(float) * (size_t)Cg * H * W);
        for (int c = 0; c < Cg; c++)
          for (int r = 0; r < R; r++)
            for (int s = 0; s < S; s++) {
              const float *row = cols + (size_t)TAP(c, r, s) * P;
              for (int oh = 0; oh < OH; oh++) {
                int ih = oh * cd->sh - cd->ph + r * cd->dh;
                if (ih < 0 || ih >= H) continue;
                for (int ow = 0; ow < OW; ow++) {
                  int iw = ow * cd->sw - cd->pw + s * cd->dw;
                  if (iw >= 0 && iw < W) dxg[((size_t)c * H + ih) * W + iw] += row[oh * OW + ow];
                }
              }
            }
      } else {
        const float *dyg = y + ((size_t)n * K + (size_t)g * Kg) * P;
        for (int k = 0; k < Kg; k++) {
          const float *dyr = dyg + (size_t)k * P;
          float *dwr = out + (size_t)(g * Kg + k) * J;
          for (int j = 0; j < J; j++) {
            const float *cr = cols + (size_t)j * P;
            float sum = 0.f;
            #pragma omp simd reduction(+ : sum)
            for (int p = 0; p < P; p++) sum += dyr[p] * cr[p];
            dwr[j] += sum;
          }
        }
      }
      #undef TAP
    }
  free(cols);
}

// One computing call, as it is run now or, while the stream is captured, at every replay of the graph: copies of its
// descriptors (a caller may destroy them right after the call, as cuDNN allows), its pointers and its scalars.
enum { CONV_FWD, CONV_BWD_DATA, CONV_BWD_FILTER, BN_TRAIN, BN_INFER, BN_BWD, POOL_FWD, POOL_BWD };
typedef struct { int op; tdesc a, b, c; cdesc cd; pdesc pd; void *p[8]; double d[2]; } call_t;
static int compute(const call_t *k);

// Stream capture (emu_runtime.cpp): while it is on, a call is checked now (the mock's part) and recorded; the
// computation runs at each cuGraphLaunch.
int emu_capturing(void);
void emu_record(int (*run)(const void *blob), const void *blob, size_t bytes);
static int compute_blob(const void *blob) { return compute((const call_t *)blob); }
static int run_or_record(const call_t *k) {
  if (!emu_capturing()) return compute(k);
  emu_record(compute_blob, k, sizeof *k);
  return ST_OK;
}

int cudnnConvolutionForward(void *h, const float *alpha, tdesc *xd, void *x, tdesc *wd, void *w, cdesc *c, int algo, void *ws,
                            size_t wsBytes, const float *beta, tdesc *yd, void *y) {
  int st = mock_cudnnConvolutionForward(h, alpha, xd, x, wd, w, c, algo, ws, wsBytes, beta, yd, y);
  if (st != ST_OK) return st;
  call_t k = {.op = CONV_FWD, .a = *xd, .b = *wd, .c = *yd, .cd = *c, .p = {x, w, y}};
  return run_or_record(&k);
}
int cudnnConvolutionBackwardData(void *h, const float *alpha, tdesc *wd, void *w, tdesc *dyd, void *dy, cdesc *c, int algo,
                                 void *ws, size_t wsBytes, const float *beta, tdesc *dxd, void *dx) {
  int st = mock_cudnnConvolutionBackwardData(h, alpha, wd, w, dyd, dy, c, algo, ws, wsBytes, beta, dxd, dx);
  if (st != ST_OK) return st;
  call_t k = {.op = CONV_BWD_DATA, .a = *dxd, .b = *wd, .c = *dyd, .cd = *c, .p = {w, dy, dx}};
  return run_or_record(&k);
}
int cudnnConvolutionBackwardFilter(void *h, const float *alpha, tdesc *xd, void *x, tdesc *dyd, void *dy, cdesc *c, int algo,
                                   void *ws, size_t wsBytes, const float *beta, tdesc *dwd, void *dw) {
  int st = mock_cudnnConvolutionBackwardFilter(h, alpha, xd, x, dyd, dy, c, algo, ws, wsBytes, beta, dwd, dw);
  if (st != ST_OK) return st;
  call_t k = {.op = CONV_BWD_FILTER, .a = *xd, .b = *dwd, .c = *dyd, .cd = *c, .p = {x, dy, dw}};
  return run_or_record(&k);
}

// Per-channel mean and biased variance of x [n, c, h, w] over (n, h, w).
static void channel_stats(const tdesc *d, const float *x, int ch, double *mean, double *var) {
  size_t plane = (size_t)d->h * d->w, m = (size_t)d->n * plane;
  double s = 0, q = 0;
  for (int n = 0; n < d->n; n++) {
    const float *p = x + ((size_t)n * d->c + ch) * plane;
    for (size_t i = 0; i < plane; i++) s += p[i];
  }
  *mean = s / m;
  for (int n = 0; n < d->n; n++) {
    const float *p = x + ((size_t)n * d->c + ch) * plane;
    for (size_t i = 0; i < plane; i++) q += (p[i] - *mean) * (p[i] - *mean);
  }
  *var = q / m;
}

// y = scale * (x - mean) * invStd + bias, channel ch
static void normalize(const tdesc *d, const float *x, float *y, int ch, double mean, double invStd, double scale, double bias) {
  size_t plane = (size_t)d->h * d->w;
  for (int n = 0; n < d->n; n++) {
    size_t o = ((size_t)n * d->c + ch) * plane;
    for (size_t i = 0; i < plane; i++) y[o + i] = (float)(scale * (x[o + i] - mean) * invStd + bias);
  }
}

static int bn_train(const call_t *k) {
  const tdesc *xd = &k->a;
  float *x = k->p[0], *y = k->p[1], *scale = k->p[2], *bias = k->p[3], *rm = k->p[4], *rv = k->p[5], *sm = k->p[6], *siv = k->p[7];
  double factor = k->d[0], eps = k->d[1];
  size_t m = (size_t)xd->n * xd->h * xd->w;
  for (int c = 0; c < xd->c; c++) {
    double mean, var;
    channel_stats(xd, x, c, &mean, &var);
    double invStd = 1.0 / sqrt(var + eps);
    normalize(xd, x, y, c, mean, invStd, scale[c], bias[c]);
    if (sm) { sm[c] = (float)mean; siv[c] = (float)invStd; }
    if (rm) {
      rm[c] = (float)((1 - factor) * rm[c] + factor * mean);
      rv[c] = (float)((1 - factor) * rv[c] + factor * (m > 1 ? var * m / (m - 1) : var));
    }
  }
  return guarded("cudnnBatchNormalizationForwardTraining", ST_OK);
}

static int bn_infer(const call_t *k) {
  const tdesc *xd = &k->a;
  float *x = k->p[0], *y = k->p[1], *scale = k->p[2], *bias = k->p[3], *mean = k->p[4], *var = k->p[5];
  for (int c = 0; c < xd->c; c++) normalize(xd, x, y, c, mean[c], 1.0 / sqrt((double)var[c] + k->d[1]), scale[c], bias[c]);
  return guarded("cudnnBatchNormalizationForwardInference", ST_OK);
}

static int bn_backward(const call_t *k) {
  const tdesc *xd = &k->a;
  const float *X = k->p[0], *DY = k->p[1];
  float *DX = k->p[2], *scale = k->p[3], *dscale = k->p[4], *dbias = k->p[5], *sm = k->p[6], *siv = k->p[7];
  double eps = k->d[1];
  size_t plane = (size_t)xd->h * xd->w, m = (size_t)xd->n * plane;
  for (int c = 0; c < xd->c; c++) {
    double mean, invStd;
    if (sm) { mean = sm[c]; invStd = siv[c]; }
    else { double var; channel_stats(xd, X, c, &mean, &var); invStd = 1.0 / sqrt(var + eps); }
    double sdy = 0, sdyx = 0;
    for (int n = 0; n < xd->n; n++) {
      size_t o = ((size_t)n * xd->c + c) * plane;
      for (size_t i = 0; i < plane; i++) { sdy += DY[o + i]; sdyx += DY[o + i] * (X[o + i] - mean) * invStd; }
    }
    dbias[c] = (float)sdy;
    dscale[c] = (float)sdyx;
    double g = scale[c] * invStd;
    for (int n = 0; n < xd->n; n++) {
      size_t o = ((size_t)n * xd->c + c) * plane;
      for (size_t i = 0; i < plane; i++) {
        double xhat = (X[o + i] - mean) * invStd;
        DX[o + i] = (float)(g * (DY[o + i] - sdy / m - xhat * sdyx / m));
      }
    }
  }
  return guarded("cudnnBatchNormalizationBackward", ST_OK);
}

int cudnnBatchNormalizationForwardTraining(void *h, int mode, const float *alpha, const float *beta, tdesc *xd, void *x, tdesc *yd,
                                           void *y, tdesc *bnd, void *scale, void *bias, double factor, void *rm, void *rv,
                                           double eps, void *sm, void *siv) {
  int st = mock_cudnnBatchNormalizationForwardTraining(h, mode, alpha, beta, xd, x, yd, y, bnd, scale, bias, factor, rm, rv, eps, sm, siv);
  if (st != ST_OK) return st;
  call_t k = {.op = BN_TRAIN, .a = *xd, .p = {x, y, scale, bias, rm, rv, sm, siv}, .d = {factor, eps}};
  return run_or_record(&k);
}

int cudnnBatchNormalizationForwardInference(void *h, int mode, const float *alpha, const float *beta, tdesc *xd, void *x, tdesc *yd,
                                            void *y, tdesc *bnd, void *scale, void *bias, void *mean, void *var, double eps) {
  int st = mock_cudnnBatchNormalizationForwardInference(h, mode, alpha, beta, xd, x, yd, y, bnd, scale, bias, mean, var, eps);
  if (st != ST_OK) return st;
  call_t k = {.op = BN_INFER, .a = *xd, .p = {x, y, scale, bias, mean, var}, .d = {0, eps}};
  return run_or_record(&k);
}

int cudnnBatchNormalizationBackward(void *h, int mode, const float *ad, const float *bd, const float *ap, const float *bp, tdesc *xd,
                                    void *x, tdesc *dyd, void *dy, tdesc *dxd, void *dx, tdesc *bnd, void *scale, void *dscale,
                                    void *dbias, double eps, void *sm, void *siv) {
  int st = mock_cudnnBatchNormalizationBackward(h, mode, ad, bd, ap, bp, xd, x, dyd, dy, dxd, dx, bnd, scale, dscale, dbias, eps, sm, siv);
  if (st != ST_OK) return st;
  call_t k = {.op = BN_BWD, .a = *xd, .p = {x, dy, dx, scale, dscale, dbias, sm, siv}, .d = {0, eps}};
  return run_or_record(&k);
}

// Pooling: modes 0 and 3 max (padding never wins), 1 average over the whole window, 2 average over its part inside x.
// dy == NULL: forward into y; else backward into dx (max: to the window's first largest input).
static void pool(const pdesc *p, const tdesc *xd, const float *x, const tdesc *yd, float *y, const float *dy, float *dx) {
  int H = xd->h, W = xd->w, OH = yd->h, OW = yd->w;
  int isMax = p->mode == 0 || p->mode == 3;
  if (dx) memset(dx, 0, tbytes((tdesc *)xd));
  for (size_t plane = 0; plane < (size_t)xd->n * xd->c; plane++) {
    const float *xp = x + plane * H * W;
    for (int oh = 0; oh < OH; oh++)
      for (int ow = 0; ow < OW; ow++) {
        int h0 = oh * p->sh - p->ph, w0 = ow * p->sw - p->pw, count = 0, arg = -1;
        double sum = 0, best = -INFINITY;
        for (int a = h0; a < h0 + p->kh; a++)
          for (int b = w0; b < w0 + p->kw; b++) {
            if (a < 0 || a >= H || b < 0 || b >= W) continue;
            double v = xp[a * W + b];
            count++;
            sum += v;
            if (arg < 0 || v > best) { best = v; arg = a * W + b; }
          }
        int div = p->mode == 1 ? p->kh * p->kw : count;
        size_t o = plane * OH * OW + (size_t)oh * OW + ow;
        if (!dy) { y[o] = isMax ? (float)best : (float)(sum / div); continue; }
        float *dxp = dx + plane * H * W;
        if (isMax) { if (arg >= 0) dxp[arg] += dy[o]; continue; }
        for (int a = h0; a < h0 + p->kh; a++)
          for (int b = w0; b < w0 + p->kw; b++)
            if (a >= 0 && a < H && b >= 0 && b < W) dxp[a * W + b] += (float)(dy[o] / div);
      }
  }
}

int cudnnPoolingForward(void *h, pdesc *p, const float *alpha, tdesc *xd, void *x, const float *beta, tdesc *yd, void *y) {
  int st = mock_cudnnPoolingForward(h, p, alpha, xd, x, beta, yd, y);
  if (st != ST_OK) return st;
  call_t k = {.op = POOL_FWD, .a = *xd, .b = *yd, .pd = *p, .p = {x, y}};
  return run_or_record(&k);
}
int cudnnPoolingBackward(void *h, pdesc *p, const float *alpha, tdesc *yd, void *y, tdesc *dyd, void *dy, tdesc *xd, void *x,
                         const float *beta, tdesc *dxd, void *dx) {
  int st = mock_cudnnPoolingBackward(h, p, alpha, yd, y, dyd, dy, xd, x, beta, dxd, dx);
  if (st != ST_OK) return st;
  call_t k = {.op = POOL_BWD, .a = *xd, .b = *yd, .pd = *p, .p = {x, dy, dx}};
  return run_or_record(&k);
}

static int compute(const call_t *k) {
  static int no_compute = -1;   // EMU_NO_COMPUTE=1 (emu_runtime.cpp): checked and recorded, not computed
  if (no_compute < 0) no_compute = getenv("EMU_NO_COMPUTE") && strcmp(getenv("EMU_NO_COMPUTE"), "1") == 0;
  if (no_compute) return ST_OK;
  switch (k->op) {
    case CONV_FWD:
      convolve(FORWARD, &k->a, k->p[0], &k->b, k->p[1], &k->cd, &k->c, NULL, k->p[2]);
      return guarded("cudnnConvolutionForward", ST_OK);
    case CONV_BWD_DATA:
      convolve(BACKWARD_DATA, &k->a, NULL, &k->b, k->p[0], &k->cd, &k->c, k->p[1], k->p[2]);
      return guarded("cudnnConvolutionBackwardData", ST_OK);
    case CONV_BWD_FILTER:
      convolve(BACKWARD_FILTER, &k->a, k->p[0], &k->b, NULL, &k->cd, &k->c, k->p[1], k->p[2]);
      return guarded("cudnnConvolutionBackwardFilter", ST_OK);
    case BN_TRAIN: return bn_train(k);
    case BN_INFER: return bn_infer(k);
    case BN_BWD: return bn_backward(k);
    case POOL_FWD:
      pool(&k->pd, &k->a, k->p[0], &k->b, k->p[1], NULL, NULL);
      return guarded("cudnnPoolingForward", ST_OK);
    case POOL_BWD:
      pool(&k->pd, &k->a, k->p[0], &k->b, NULL, k->p[1], k->p[2]);
      return guarded("cudnnPoolingBackward", ST_OK);
  }
  return ST_BAD;
}
