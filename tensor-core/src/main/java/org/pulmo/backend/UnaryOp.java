package org.pulmo.backend;

/** Elementwise functions of one tensor; {@code alpha} is the scalar argument where one is named. */
public enum UnaryOp {
    NEG, EXP, LOG, SQRT, ABS, RELU, SIGMOID, TANH, SQUARE, RECIPROCAL,
    /** 1 where x > 0, else 0 (ReLU's derivative). */
    STEP,
    /** sign(x) in {-1, 0, 1} (abs's derivative). */
    SIGN,
    /** x^alpha. */
    POW,
    /** alpha * x. */
    SCALE,
    /** x + alpha. */
    ADD_SCALAR
}
