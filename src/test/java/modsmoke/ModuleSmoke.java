package modsmoke;

import dev.lanes.Tensor;

/** Run from the class path against Lanes on the module path (ModuleDescriptorTest): only exported packages are used. */
public final class ModuleSmoke {
    private ModuleSmoke() {
    }

    public static void main(String[] args) {
        System.out.println("module " + Tensor.class.getModule().getName() + ": " + Tensor.ones(2, 3).sum().item());
    }
}
