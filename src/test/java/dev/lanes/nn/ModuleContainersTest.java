package dev.lanes.nn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lanes.Lanes;
import dev.lanes.Tensor;
import dev.lanes.optim.SGD;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.junit.jupiter.api.Test;

/**
 * ModuleList and ModuleDict (issue 16): registration (parameters, state dict names, train/eval reach the entries),
 * PyTorch 1.13's reprs and messages (printed by torch 1.13 for the same modules), list and dict edits, bad input.
 */
class ModuleContainersTest {
    /** The transformer-style owner: blocks in a ModuleList, heads in a ModuleDict, like PyTorch's Net below. */
    static final class Net extends Module {
        final ModuleList layers = register("layers", new ModuleList(new Linear(2, 2), new Linear(2, 2)));
        final ModuleDict heads = register("heads", new ModuleDict(orderedMap("b", new Linear(2, 1), "a", new Tanh())));

        @Override
        public Tensor forward(Tensor x) {
            for (Module layer : layers) {
                x = layer.forward(x).relu();
            }
            return heads.get("a").forward(heads.get("b").forward(x));
        }
    }

    private static Map<String, Module> orderedMap(String k1, Module v1, String k2, Module v2) {
        Map<String, Module> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }

    @Test
    void ownerSeesTheEntriesParametersStateDictModesAndRepr() {
        Lanes.manualSeed(16);
        Net net = new Net();
        // printed by PyTorch 1.13 for the same model
        assertThat(net.toString()).isEqualTo("""
                Net(
                  (layers): ModuleList(
                    (0): Linear(in_features=2, out_features=2, bias=True)
                    (1): Linear(in_features=2, out_features=2, bias=True)
                  )
                  (heads): ModuleDict(
                    (b): Linear(in_features=2, out_features=1, bias=True)
                    (a): Tanh()
                  )
                )""");
        assertThat(net.stateDict().keySet()).containsExactly("layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias",
                "heads.b.weight", "heads.b.bias");
        assertThat(net.namedParameters().keySet()).containsExactlyElementsOf(net.stateDict().keySet());
        assertThat(net.parameters()).hasSize(6);
        assertThat(net.modules()).hasSize(7);
        net.eval();
        assertThat(net.layers.get(1).isTraining()).isFalse();
        assertThat(net.heads.get("a").isTraining()).isFalse();
        net.train();
        assertThat(net.layers.get(-1).isTraining()).isTrue();
        // gradients reach every entry's parameters, and an optimizer steps them
        SGD sgd = new SGD(net.parameters(), 0.1);
        Tensor before = net.layers.get(0).parameters().get(0).clone();
        net.forward(Tensor.randn(4, 2)).sum().backward();
        assertThat(net.parameters()).allMatch(p -> p.grad() != null);
        sgd.step();
        assertThat(net.layers.get(0).parameters().get(0).toFloatArray()).isNotEqualTo(before.toFloatArray());
        // a state dict round trip through the container names
        Net other = new Net();
        other.loadStateDict(net.stateDict());
        assertThat(other.layers.get(1).parameters().get(0).toFloatArray()).containsExactly(net.layers.get(1).parameters().get(0).toFloatArray());
    }

    @Test
    void moduleListEditsRenumberLikePyTorch() {
        ModuleList ml = new ModuleList(List.of(new Linear(2, 3), new ReLU(), new Linear(3, 1)));
        assertThat(ml.toString()).isEqualTo("""
                ModuleList(
                  (0): Linear(in_features=2, out_features=3, bias=True)
                  (1): ReLU()
                  (2): Linear(in_features=3, out_features=1, bias=True)
                )""");
        ml.insert(1, new Tanh());
        // PyTorch 1.13 after ml.insert(1, nn.Tanh())
        assertThat(ml.toString()).isEqualTo("""
                ModuleList(
                  (0): Linear(in_features=2, out_features=3, bias=True)
                  (1): Tanh()
                  (2): ReLU()
                  (3): Linear(in_features=3, out_features=1, bias=True)
                )""");
        Module first = ml.pop(0);
        assertThat(first).isInstanceOf(Linear.class);
        // after del ml[0]
        assertThat(ml.toString()).isEqualTo("""
                ModuleList(
                  (0): Tanh()
                  (1): ReLU()
                  (2): Linear(in_features=3, out_features=1, bias=True)
                )""");
        assertThat(ml.namedParameters().keySet()).containsExactly("2.weight", "2.bias");
        ml.append(first).insert(-1, new Sigmoid());
        assertThat(ml.size()).isEqualTo(5);
        assertThat(ml.get(3)).isInstanceOf(Sigmoid.class);
        assertThat(ml.get(-1)).isSameAs(first);
        assertThat(ml.namedChildren().keySet()).containsExactly("0", "1", "2", "3", "4");
        assertThat(ml.namedParameters().keySet()).containsExactly("2.weight", "2.bias", "4.weight", "4.bias");
        Module old = ml.set(1, new Identity());
        assertThat(old).isInstanceOf(ReLU.class);
        assertThat(ml.children().get(1)).isInstanceOf(Identity.class);
        ModuleList tail = ml.slice(-2, ml.size());
        assertThat(tail.size()).isEqualTo(2);
        assertThat(tail.get(1)).isSameAs(first);
        assertThat(ml.slice(3, 1).isEmpty()).isTrue();
        assertThat(new ModuleList().extend(tail).extend(List.of(new ReLU())).size()).isEqualTo(3);
        int n = 0;
        for (Module m : ml) {
            assertThat(m).isSameAs(ml.get(n++));
        }
        assertThat(n).isEqualTo(5);
        assertThat(new ModuleList().toString()).isEqualTo("ModuleList()");
    }

    @Test
    void moduleDictPutsReplacesAndRemovesInOrder() {
        ModuleDict d = new ModuleDict(orderedMap("x", new ReLU(), "y", new Tanh()));
        assertThat(d.put("x", new Sigmoid())).isInstanceOf(ReLU.class);
        // PyTorch 1.13 after d['x'] = nn.Sigmoid(): the key keeps its place
        assertThat(d.toString()).isEqualTo("""
                ModuleDict(
                  (x): Sigmoid()
                  (y): Tanh()
                )""");
        assertThat(d.put("z", new Linear(1, 1))).isNull();
        assertThat(d.keys()).containsExactly("x", "y", "z");
        assertThat(d.values()).hasSize(3);
        assertThat(d.items().keySet()).containsExactly("x", "y", "z");
        assertThat(d.namedParameters().keySet()).containsExactly("z.weight", "z.bias");
        assertThat(d.containsKey("y")).isTrue();
        assertThat(d.pop("y")).isInstanceOf(Tanh.class);
        assertThat(d.keys()).containsExactly("x", "z");
        d.update(orderedMap("w", new ReLU(), "x", new Identity()));
        assertThat(d.keys()).containsExactly("x", "z", "w");
        assertThat(d.get("x")).isInstanceOf(Identity.class);
        assertThat(d.size()).isEqualTo(3);
        d.clear();
        assertThat(d.isEmpty()).isTrue();
        assertThat(d.toString()).isEqualTo("ModuleDict()");
        assertThat(d.parameters()).isEmpty();
    }

    @Test
    void badInputGetsPyTorchsMessages() {
        ModuleList ml = new ModuleList(new ReLU(), new Tanh());
        assertThatThrownBy(() -> ml.get(2)).isInstanceOf(IndexOutOfBoundsException.class).hasMessage("index 2 is out of range");
        assertThatThrownBy(() -> ml.get(-3)).isInstanceOf(IndexOutOfBoundsException.class).hasMessage("index -3 is out of range");
        assertThatThrownBy(() -> ml.set(5, new ReLU())).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> ml.pop(2)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> ml.insert(3, new ReLU())).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> ml.append(null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> ml.insert(0, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThatThrownBy(() -> ml.set(0, null)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("null");
        assertThat(ml.size()).isEqualTo(2); // nothing changed
        assertThatThrownBy(() -> ml.forward(Tensor.ones(1))).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("Module [ModuleList] is missing the required \"forward\" function");
        assertThatThrownBy(() -> ml.iterator().remove()).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> new ModuleDict(Map.of("a.b", new ReLU()))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("module name can't contain \".\", got: a.b");
        assertThatThrownBy(() -> new ModuleDict(Map.of("", new ReLU()))).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("module name can't be empty string \"\"");
        ModuleDict d = new ModuleDict();
        assertThatThrownBy(() -> d.get("x")).isInstanceOf(NoSuchElementException.class).hasMessageContaining("'x'");
        assertThatThrownBy(() -> d.pop("x")).isInstanceOf(NoSuchElementException.class);
        assertThatThrownBy(() -> d.put("x", null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> d.forward(Tensor.ones(1))).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("Module [ModuleDict] is missing the required \"forward\" function");
        assertThatThrownBy(() -> d.items().put("y", new ReLU())).isInstanceOf(UnsupportedOperationException.class);
    }
}
