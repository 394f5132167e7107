package org.pulmo.backend;

/** Elementwise functions of two broadcast tensors. Comparisons give 1 or 0. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV, MAX, MIN, POW, GT, GE, EQ,
    /** a where b > 0, else 0: ReLU's backward in one pass (a = dy, b = y). */
    RELU_BACKWARD
}
