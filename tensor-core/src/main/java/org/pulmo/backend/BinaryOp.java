package org.pulmo.backend;

/** Elementwise functions of two broadcast tensors. Comparisons give 1 or 0. */
public enum BinaryOp { ADD, SUB, MUL, DIV, MAX, MIN, POW, GT, GE, EQ }
