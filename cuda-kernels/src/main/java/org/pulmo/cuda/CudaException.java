package org.pulmo.cuda;

/** A failed CUDA, cuBLAS or cuDNN call: names the call and its status (number and string). */
public class CudaException extends RuntimeException {
    public CudaException(String message) { super(message); }

    public CudaException(String message, Throwable cause) { super(message, cause); }

    static CudaException of(String library, String call, int status, String statusName) {
        return new CudaException(library + " call " + call + " failed: " + statusName + " (" + status + ")");
    }
}
