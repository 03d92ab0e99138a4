using System.Globalization;
using System.Text.Json;
using Glance.Grains.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Glance.Grains.Properties;

/// <summary>
/// What a property set persisted before sets were stored a row per property (<see cref="IPropertySetStore"/>):
/// read once, moved to the store, then cleared.
/// </summary>
public sealed class ImagePropertiesState
{
    /// <summary>Incremented on every write.</summary>
    public long Version { get; set; }

    /// <summary>The properties by name.</summary>
    public SortedDictionary<string, ImageProperty> Properties { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// One image's typed properties and the property-level rules: a value fits its type and the
/// operator's definition, a protected property is changed only by its owner or an admin, an
/// <c>If-Match</c> must name the current ETag, the owner is the project that created it.
/// Image-level rules (who may see or change the image) are the image grain's, its only caller.
/// A commit writes only the properties its delta names (<see cref="IPropertySetStore"/>).
/// </summary>
[GrainType("glance.image-properties")]
public sealed class ImagePropertiesGrain(IPropertySetStore store, PropertyProtections protections) : Grain, IImagePropertiesGrain
{
    private static readonly string[] Types = ["string", "integer", "number", "boolean", "array", "object"];

    // The grain state an earlier release stored the whole set in (see ImagePropertiesState).
    private const string LegacyStateName = "image-properties";

    private PropertySet _set = new(0, ImmutableSortedDictionary<string, ImageProperty>.Empty.WithComparers(StringComparer.Ordinal));

    private Guid Id => this.GetPrimaryKey();

    /// <inheritdoc />
    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _set = await store.LoadAsync(Id);
        if (_set.Version == 0)
        {
            await MoveLegacyStateAsync();
        }
        await base.OnActivateAsync(cancellationToken);
    }

    /// <summary>
    /// A set an earlier release stored whole, as grain state: moved to the store as one delta, then
    /// cleared (a crash between the two moves it again; the store then has it and ignores it). Read
    /// only when the store has no set, so a set stored in rows costs no second read.
    /// </summary>
    private async Task MoveLegacyStateAsync()
    {
        var storage = ServiceProvider.GetRequiredKeyedService<IGrainStorage>(GlanceStorage.ProviderName);
        var legacy = new GrainState<ImagePropertiesState>();
        await storage.ReadStateAsync(LegacyStateName, this.GetGrainId(), legacy);
        if (!legacy.RecordExists)
        {
            return;
        }
        if (legacy.State is { } stored && stored.Version > _set.Version)
        {
            var moved = new PropertyDelta(stored.Version, Reset: true, [.. stored.Properties.Values], []);
            await store.CommitAsync(Id, moved);
            _set = moved.ApplyTo(_set);
        }
        await storage.ClearStateAsync(LegacyStateName, this.GetGrainId(), legacy);
    }

    Task<PropertySet> IImagePropertiesGrain.GetAsync() => Task.FromResult(_set);

    Task<PropertyPreview> IImagePropertiesGrain.PreviewAsync(PropertyBatch batch)
    {
        var current = _set.Properties;
        var working = batch.Reset
            ? new SortedDictionary<string, ImageProperty>(StringComparer.Ordinal)
            : new SortedDictionary<string, ImageProperty>(current, StringComparer.Ordinal);
        if (!batch.Reset && _set.Version == 0 && batch.Seed is { } seed)
        {
            foreach (var (name, value) in seed)
            {
                working[name] = new ImageProperty
                {
                    Name = name, ValueJson = JsonSerializer.Serialize(value), Owner = batch.ImageOwner,
                    CreatedAt = batch.Now, UpdatedAt = batch.Now, ETag = NewETag(),
                };
            }
        }
        var created = false;
        foreach (var change in batch.Changes)
        {
            created = Apply(working, change, batch, protections);
        }
        if (working.Count + batch.Reserved > batch.Quota)
        {
            throw GlanceException.TooLarge($"Maximum number of properties exceeded: attempted {working.Count + batch.Reserved}, maximum {batch.Quota}");
        }
        // The delta: what is new or different (by reference: untouched properties are the same objects).
        var upserts = working.Values.Where(p => batch.Reset || !current.TryGetValue(p.Name, out var was) || !ReferenceEquals(was, p)).ToImmutableArray();
        var removals = batch.Reset ? [] : current.Keys.Where(name => !working.ContainsKey(name)).ToImmutableArray();
        var version = _set.Version + 1;
        var set = new PropertySet(version, working.ToImmutableSortedDictionary(StringComparer.Ordinal));
        return Task.FromResult(new PropertyPreview(set, created, new PropertyDelta(version, batch.Reset, upserts, removals)));
    }

    async Task<PropertySet> IImagePropertiesGrain.CommitAsync(PropertyDelta delta)
    {
        if (delta.Version <= _set.Version)
        {
            return _set; // Written before (the image sent it again after a crash).
        }
        if (delta.Version != _set.Version + 1)
        {
            throw new InvalidOperationException($"Property set of image {Id} is at version {_set.Version}; a delta for version {delta.Version} does not follow it.");
        }
        await store.CommitAsync(Id, delta);
        return _set = delta.ApplyTo(_set);
    }

    /// <summary>Applies one change to the working set; true when it created a property.</summary>
    private static bool Apply(SortedDictionary<string, ImageProperty> working, PropertyChange change, PropertyBatch batch, PropertyProtections protections)
    {
        var caller = batch.Caller;
        var name = change.Name;
        working.TryGetValue(name, out var stored);
        // A property the caller may not see is absent for it in every answer, so that no status or
        // message tells its name: reading and deleting answer as for a name never set, and a write
        // creates the caller's own property in its place (names an operator wants locked belong in
        // the protection rules, which go by name and so reveal nothing).
        var existing = stored is not null && ImageAccess.CanSeeProperty(caller, batch.ImageOwner, stored.Visibility, stored.Owner)
            && protections.Allows(caller, name, "read")
            ? stored
            : null;
        var isRemove = change.Kind is PropertyChangeKind.Remove or PropertyChangeKind.PatchRemove;
        if (existing is null)
        {
            switch (change.Kind)
            {
                case PropertyChangeKind.Remove:
                    throw GlanceException.NotFound($"Property {name} not found.");
                case PropertyChangeKind.PatchRemove or PropertyChangeKind.PatchReplace:
                    throw GlanceException.Conflict($"Property {name} does not exist.");
            }
            if (change.IfMatch is not null)
            {
                throw new GlanceException(ErrorKind.PreconditionFailed, $"Property {name} does not exist: If-Match {change.IfMatch} does not hold.");
            }
        }
        else
        {
            if (change.Kind == PropertyChangeKind.PatchAddNew)
            {
                throw GlanceException.Conflict($"Property {name} already present.");
            }
            if (change.IfMatch is { } ifMatch && ifMatch != "*" && ifMatch != existing.ETag)
            {
                throw new GlanceException(ErrorKind.PreconditionFailed,
                    $"Property {name} has changed: If-Match {ifMatch} does not match its ETag {existing.ETag}.");
            }
            if (existing.Protected && !caller.IsAdmin && caller.ProjectId != existing.Owner)
            {
                throw GlanceException.Forbidden($"Property {name} is protected: only its owner (project {existing.Owner}) or an admin may change or delete it.");
            }
        }
        // The operator's protection rules (when a rules file is configured).
        protections.Ensure(caller, name, isRemove ? "delete" : existing is null ? "create" : "update");
        if (isRemove)
        {
            working.Remove(name);
            return false;
        }
        var write = change.Write ?? throw GlanceException.BadRequest($"Property {name}: a value is required.");
        // An enforced definition is a rule; one that only describes (the seeded ones) gives its type
        // to a value that fits it and refuses nothing, as Glance refuses no string for these names.
        var definition = batch.Definitions.Find(name);
        var rule = definition is { Enforced: true } ? definition : null;
        var described = definition is { Enforced: false } ? PropertyDefinition.WireName(definition.Type) : null;
        if (write.Type is not null && !Types.Contains(write.Type))
        {
            throw GlanceException.BadRequest($"Property '{name}': invalid type '{write.Type}', use one of {string.Join(", ", Types)}.");
        }
        using var document = ParseValue(name, write.ValueJson);
        var value = document.RootElement;
        var fromString = change.Kind != PropertyChangeKind.Put;
        var type = write.Type
            // A type the property only has from a describing definition does not bind a v2 write.
            ?? (existing is not null && !(fromString && existing.Type == described) ? existing.Type : null)
            ?? (rule is not null ? PropertyDefinition.WireName(rule.Type) : null)
            ?? (described is not null && Keeps(name, described, value) ? described : null)
            ?? (fromString ? "string" : Infer(name, value));
        if (rule is not null && PropertyDefinition.WireName(rule.Type) is var definedType && definedType != type)
        {
            throw GlanceException.BadRequest($"Property '{name}' is defined as type '{definedType}', not '{type}'.");
        }
        // A string sent the v2 way is first held against the definition as sent (its message names the requirement).
        if (fromString && rule is not null && value.ValueKind == JsonValueKind.String && rule.Violation(name, value.GetString()!) is { } sent)
        {
            throw GlanceException.BadRequest(sent);
        }
        var valueJson = Coerce(name, type, value);
        var written = new ImageProperty
        {
            Name = name,
            ValueJson = valueJson,
            Type = type,
            Owner = existing?.Owner ?? caller.ProjectId,
            Visibility = write.Visibility ?? existing?.Visibility ?? PropertyVisibility.Public,
            Protected = write.Protected ?? existing?.Protected ?? false,
            Description = write.Description ?? existing?.Description,
            CreatedAt = existing?.CreatedAt ?? batch.Now,
            UpdatedAt = batch.Now,
            ETag = NewETag(),
        };
        if (!PropertyVisibility.IsValid(written.Visibility))
        {
            throw GlanceException.BadRequest($"Property '{name}': invalid visibility '{written.Visibility}', use public, private or admin.");
        }
        if (written.Visibility == PropertyVisibility.Admin && existing?.Visibility != PropertyVisibility.Admin && !caller.IsAdmin)
        {
            throw GlanceException.Forbidden($"Property '{name}': only an admin may make a property admin-only.");
        }
        if (written.Description is { Length: > PropertyDefinition.MaxDescriptionLength })
        {
            throw GlanceException.BadRequest($"Property '{name}': the description is longer than {PropertyDefinition.MaxDescriptionLength} characters.");
        }
        var flat = written.FlatValue;
        if (System.Text.Encoding.UTF8.GetByteCount(flat) > batch.MaxValueBytes)
        {
            throw GlanceException.BadRequest($"Property '{name}': the value is longer than {batch.MaxValueBytes} bytes.");
        }
        // v2 (PATCH) strings were held against the built-in rules by the image grain already (null allowed there).
        if (!fromString && PropertySchema.Violation(name, flat) is { } violation)
        {
            throw GlanceException.BadRequest($"Provided object does not match schema 'image': {violation}");
        }
        if (rule?.Violation(name, flat) is { } mismatch)
        {
            throw GlanceException.BadRequest(mismatch);
        }
        working[name] = written;
        return existing is null;
    }

    /// <summary>
    /// True when <paramref name="value"/> can be stored as <paramref name="type"/> without changing
    /// what the image shows: a describing definition (every metadef) types <c>"4"</c> and <c>"true"</c>,
    /// but leaves <c>"04"</c> and <c>"True"</c> the strings they were sent as, as Glance keeps them.
    /// </summary>
    private static bool Keeps(string name, string type, JsonElement value)
    {
        try
        {
            var stored = Coerce(name, type, value);
            return value.ValueKind != JsonValueKind.String || type == "string" || stored == value.GetString();
        }
        catch (GlanceException)
        {
            return false;
        }
    }

    /// <summary>The type a PUT value without a declared type has.</summary>
    private static string Infer(string name, JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "string",
        JsonValueKind.Number => value.TryGetInt64(out _) ? "integer" : "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Array => "array",
        JsonValueKind.Object => "object",
        _ => throw GlanceException.BadRequest($"Property '{name}': a value is required (null is not a value)."),
    };

    /// <summary>
    /// The value as canonical JSON of <paramref name="type"/>: a JSON value of that type, or a string
    /// that parses as one (that is what v2 clients send); 400 naming property, type and value otherwise.
    /// </summary>
    public static string Coerce(string name, string type, JsonElement value)
    {
        var isString = value.ValueKind == JsonValueKind.String;
        var text = isString ? value.GetString()! : null;
        string? result = type switch
        {
            "string" => isString ? value.GetRawText() : null,
            "integer" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var i) ? i.ToString(CultureInfo.InvariantCulture)
                : text is not null && long.TryParse(text.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var j) ? j.ToString(CultureInfo.InvariantCulture)
                : null,
            "number" => value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var d) && double.IsFinite(d) ? value.GetRawText()
                : text is not null && ParsedAs(text.Trim(), JsonValueKind.Number) is { } json && double.TryParse(json, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) && double.IsFinite(f) ? json
                : text is not null && double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out var e) && double.IsFinite(e)
                    ? e.ToString("R", CultureInfo.InvariantCulture)
                : null,
            "boolean" => value.ValueKind switch
            {
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                _ => text?.Trim().ToLowerInvariant() is "true" or "false" ? text.Trim().ToLowerInvariant() : null,
            },
            "array" or "object" => value.ValueKind == (type == "array" ? JsonValueKind.Array : JsonValueKind.Object) ? value.GetRawText()
                : text is not null ? ParsedAs(text, type == "array" ? JsonValueKind.Array : JsonValueKind.Object)
                : null,
            _ => null,
        };
        if (result is null)
        {
            var shown = value.GetRawText();
            throw GlanceException.BadRequest(
                $"Property '{name}' is of type '{type}' and does not accept the value {(shown.Length > 80 ? shown[..80] + "..." : shown)}.");
        }
        return result;
    }

    private static string? ParsedAs(string text, JsonValueKind kind)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == kind ? document.RootElement.GetRawText() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static JsonDocument ParseValue(string name, string json)
    {
        try
        {
            return JsonDocument.Parse(json);
        }
        catch (JsonException)
        {
            throw GlanceException.BadRequest($"Property '{name}': the value is not valid JSON.");
        }
    }

    private static string NewETag() => Guid.NewGuid().ToString("N")[..20];
}
