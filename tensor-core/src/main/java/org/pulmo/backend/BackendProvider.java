package org.pulmo.backend;

import org.pulmo.tensor.Device;

/** A service (java.util.ServiceLoader) that supplies the backend of a non-CPU device. */
public interface BackendProvider {

    /** Null when the device is usable, else a short reason (no driver, no device, cuDNN missing, ...). */
    String unavailableReason(Device device);

    /** The backend of {@code device}, or null if this provider does not serve it. */
    Backend create(Device device);
}
