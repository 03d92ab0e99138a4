using Glance.Grains.Storage;

namespace Glance.Grains.Properties;

/// <summary>What the definitions grain persists (JSON through the "glance" storage: add, don't rename).</summary>
public sealed class PropertyDefinitionsState
{
    /// <summary>Every definition, sorted by name.</summary>
    public List<PropertyDefinition> Definitions { get; set; } = [];
}

/// <summary>
/// The typed property definitions catalog (one activation, key 0). The first activation of a
/// service whose catalog was never written stores <see cref="SeededPropertyDefinitions.All"/>;
/// from then on only admins change it. Image grains ask for <see cref="IPropertyDefinitionsGrain.ValidatorAsync"/>
/// once per write, and the snapshot is cached here until the next change.
/// </summary>
[GrainType("glance.property-definitions")]
public sealed class PropertyDefinitionsGrain(
    [PersistentState("property-definitions", GlanceStorage.ProviderName)] IPersistentState<PropertyDefinitionsState> state)
    : Grain, IPropertyDefinitionsGrain
{
    private PropertyDefinitionSet? _snapshot;

    private PropertyDefinitionSet Snapshot => _snapshot ??= new([.. state.State.Definitions]);

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        if (!state.RecordExists)
        {
            state.State = new PropertyDefinitionsState { Definitions = [.. SeededPropertyDefinitions.All.OrderBy(d => d.Name, StringComparer.Ordinal)] };
            await state.WriteStateAsync(cancellationToken);
        }
        await base.OnActivateAsync(cancellationToken);
    }

    Task<ImmutableArray<PropertyDefinition>> IPropertyDefinitionsGrain.ListAsync() => Task.FromResult(Snapshot.Definitions);

    Task<PropertyDefinition> IPropertyDefinitionsGrain.GetAsync(string name) =>
        Task.FromResult(Snapshot.Definitions.FirstOrDefault(d => d.Name == name)
            ?? throw GlanceException.NotFound($"No property definition named '{name}'."));

    Task<PropertyDefinitionSet> IPropertyDefinitionsGrain.ValidatorAsync() => Task.FromResult(Snapshot);

    async Task<bool> IPropertyDefinitionsGrain.DefineAsync(Caller caller, PropertyDefinition definition)
    {
        EnsureAdmin(caller, "define");
        if (definition.Problem() is { } problem)
        {
            throw GlanceException.BadRequest(problem);
        }
        var definitions = state.State.Definitions.Where(d => d.Name != definition.Name).ToList();
        var created = definitions.Count == state.State.Definitions.Count;
        definitions.Add(definition);
        definitions.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        await SaveAsync(definitions);
        return created;
    }

    async Task IPropertyDefinitionsGrain.RemoveAsync(Caller caller, string name)
    {
        EnsureAdmin(caller, "remove");
        var definitions = state.State.Definitions.Where(d => d.Name != name).ToList();
        if (definitions.Count == state.State.Definitions.Count)
        {
            throw GlanceException.NotFound($"No property definition named '{name}'.");
        }
        await SaveAsync(definitions);
    }

    private static void EnsureAdmin(Caller caller, string action)
    {
        if (!caller.IsAdmin)
        {
            throw GlanceException.Forbidden($"You are not authorized to {action} property definitions.");
        }
    }

    private async Task SaveAsync(List<PropertyDefinition> definitions)
    {
        var before = state.State;
        state.State = new PropertyDefinitionsState { Definitions = definitions };
        _snapshot = null;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Nothing half-written: keep what is in storage.
            state.State = before;
            _snapshot = null;
            throw;
        }
    }
}
