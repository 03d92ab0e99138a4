using System.Collections.Concurrent;
using System.Text.Json;
using Fluid.Values;
using Glance.Grains.Catalog;

namespace Glance.Grains.Templates;

/// <summary>
/// Parsed versions, shared by the renderers of a silo. Versions are immutable and their numbers never
/// reused, so (template, number) names one version forever and an entry never goes stale.
/// </summary>
public sealed class TemplateSpecCache
{
    private const int Capacity = 4096;
    private readonly ConcurrentDictionary<(Guid, int), TemplateSpec> _specs = new();

    /// <summary>The parsed version.</summary>
    public TemplateSpec Get(Guid templateId, TemplateVersion version)
    {
        if (_specs.TryGetValue((templateId, version.Number), out var spec))
        {
            return spec;
        }
        if (_specs.Count >= Capacity)
        {
            _specs.Clear(); // Crude but bounded: a miss costs one parse.
        }
        return _specs[(templateId, version.Number)] = TemplateSpec.Parse(version.Json);
    }
}

/// <summary>
/// Which image a selector resolved to, per caller view (project and admin flag), for one second: a
/// burst of renders costs one catalog query (every shard) instead of one each. A cached image is
/// re-read through its grain before use, so an image deleted, deactivated or changed since is never
/// used; an image that newly matches is seen within the second.
/// </summary>
public sealed class SelectorCache(TimeProvider clock)
{
    /// <summary>How long a resolution is reused.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(1);

    private const int Capacity = 4096;
    private readonly ConcurrentDictionary<(string?, bool, string), (Guid ImageId, DateTimeOffset Until)> _resolved = new();

    /// <summary>The image resolved for this view and selector within <see cref="Lifetime"/>, if any.</summary>
    public Guid? Get(Caller caller, string selector) =>
        _resolved.TryGetValue((caller.ProjectId, caller.IsAdmin, selector), out var hit) && hit.Until > clock.GetUtcNow() ? hit.ImageId : null;

    /// <summary>Remembers a resolution.</summary>
    public void Put(Caller caller, string selector, Guid imageId)
    {
        if (_resolved.Count >= Capacity)
        {
            _resolved.Clear();
        }
        _resolved[(caller.ProjectId, caller.IsAdmin, selector)] = (imageId, clock.GetUtcNow() + Lifetime);
    }
}

/// <summary>
/// Renders a template version: parameters validated (Heat's types and constraints), the image resolved
/// as the caller sees it, requirements checked, then the configuration and outputs rendered in the
/// sandbox. A stateless worker, so renders of one template run in parallel; the template grain is
/// asked only for the version (under its visibility rule).
/// </summary>
[GrainType("glance.template-render")]
[StatelessWorker]
public sealed class TemplateRenderGrain(TemplateSpecCache specs, SelectorCache selectors) : Grain, ITemplateRenderGrain
{
    /// <summary>What outputs show in place of a hidden parameter.</summary>
    public const string Mask = "******";

    async Task<RenderResult> ITemplateRenderGrain.RenderAsync(Caller caller, Guid templateId, RenderRequest request)
    {
        var source = await GrainFactory.GetGrain<ITemplateGrain>(templateId).GetSourceAsync(caller, request.Version);
        var spec = specs.Get(templateId, source.Version);
        var values = Parameters(spec, request.ParametersJson);
        var image = await ResolveImageAsync(caller, spec);
        CheckRequirements(spec, image);
        var model = new Dictionary<string, FluidValue>
        {
            ["parameters"] = TemplateSandbox.Value(values),
            ["image"] = TemplateSandbox.Value(ImageModel(image)),
            ["template"] = TemplateSandbox.Value(new Dictionary<string, object?>
            {
                ["id"] = templateId.ToString(),
                ["name"] = source.Name,
                ["version"] = (long)source.Version.Number,
            }),
        };
        var userData = TemplateSandbox.Render(spec.Configuration, model, yaml: true, "configuration.template");
        // Outputs are answered to the caller and may be logged by clients: hidden values are masked.
        var masked = values.ToDictionary(p => p.Key, p => spec.Parameters[p.Key].Hidden ? Mask : p.Value);
        model["parameters"] = TemplateSandbox.Value(masked);
        var outputs = spec.Outputs.ToImmutableSortedDictionary(
            o => o.Key, o => TemplateSandbox.Render(o.Value, model, yaml: false, $"outputs.{o.Key}.value"), StringComparer.Ordinal);
        return new RenderResult(templateId, source.Version.Number, image.Id, userData, outputs,
            Math.Max(image.MinRam, spec.MinRam), Math.Max(image.MinDisk, spec.MinDisk), spec.Architecture, spec.RequiredProperties);
    }

    /// <summary>Every parameter's value: given (checked), or its default; 400 for unknown, missing or invalid ones.</summary>
    private static IReadOnlyDictionary<string, object?> Parameters(TemplateSpec spec, string json)
    {
        using var document = ParseObject(json);
        var given = document.RootElement;
        foreach (var property in given.EnumerateObject())
        {
            if (!spec.Parameters.ContainsKey(property.Name))
            {
                throw GlanceException.BadRequest($"Parameter '{property.Name}' is not a parameter of this template version.");
            }
        }
        var values = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, parameter) in spec.Parameters)
        {
            values[name] = given.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null
                ? parameter.Validate(value)
                : parameter.Default ?? throw GlanceException.BadRequest($"Parameter '{name}' is invalid: it is required (it has no default).");
        }
        return values;
    }

    private static JsonDocument ParseObject(string json)
    {
        try
        {
            var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                return document;
            }
            document.Dispose();
        }
        catch (JsonException)
        {
        }
        throw GlanceException.BadRequest("parameters must be a JSON object.");
    }

    /// <summary>The image by id, or the newest active image the caller may see that matches the selector; 409 naming it and why.</summary>
    private async Task<ImageRecord> ResolveImageAsync(Caller caller, TemplateSpec spec)
    {
        if (spec.ImageId is { } id)
        {
            ImageRecord image;
            try
            {
                image = await GrainFactory.GetGrain<IImageGrain>(id).GetAsync(caller);
            }
            catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
            {
                throw GlanceException.Conflict($"Image {id} named by the template does not exist or is not visible to you.");
            }
            return image.Status == ImageStatus.Active
                ? image
                : throw GlanceException.Conflict($"Image {id} named by the template is {WireNames.Of(image.Status)}, not active.");
        }
        var selector = string.Join("\n", spec.Selector.Select(s => $"{s.Key}={s.Value}"));
        if (selectors.Get(caller, selector) is { } cached)
        {
            try
            {
                var image = await GrainFactory.GetGrain<IImageGrain>(cached).GetAsync(caller);
                if (image.Status == ImageStatus.Active && Matches(spec, image))
                {
                    return image;
                }
            }
            catch (GlanceException e) when (e.Kind == ErrorKind.NotFound)
            {
            }
        }
        var filters = ImmutableArray.CreateBuilder<AttributeFilter>();
        filters.Add(new AttributeFilter("status", FilterOp.Eq, ["active"]));
        foreach (var (name, value) in spec.Selector.Where(s => s.Key != "tag"))
        {
            filters.Add(new AttributeFilter(name, FilterOp.Eq, [value]));
        }
        var query = new ImageQuery
        {
            Limit = 1,
            Sort = [new SortCriterion(SortKey.CreatedAt, Descending: true)],
            Visibility = VisibilityScope.All,
            MemberStatus = null,
            Tags = spec.Selector.TryGetValue("tag", out var tag) ? [tag] : [],
            Filters = filters.ToImmutable(),
        };
        var found = await GrainFactory.GetGrain<IImageCatalogGrain>(0).ListAsync(caller, query);
        if (found.IsEmpty)
        {
            throw GlanceException.Conflict($"No active image visible to you matches the template's image selector ({string.Join(", ", spec.Selector.Select(s => $"{s.Key}={s.Value}"))}).");
        }
        selectors.Put(caller, selector, found[0].Id);
        return found[0];
    }

    private static bool Matches(TemplateSpec spec, ImageRecord image) => spec.Selector.All(s => s.Key == "tag"
        ? image.Tags.Contains(s.Value)
        : image.Properties.TryGetValue(s.Key, out var value) && value == s.Value);

    private static void CheckRequirements(TemplateSpec spec, ImageRecord image)
    {
        if (spec.Architecture is { } architecture && image.Properties.GetValueOrDefault("architecture") != architecture)
        {
            throw GlanceException.Conflict($"Image {image.Id} has architecture '{image.Properties.GetValueOrDefault("architecture") ?? "(none)"}'; the template requires '{architecture}'.");
        }
        foreach (var (name, value) in spec.RequiredProperties)
        {
            if (image.Properties.GetValueOrDefault(name) != value)
            {
                throw GlanceException.Conflict($"Image {image.Id} has {name}='{image.Properties.GetValueOrDefault(name) ?? "(none)"}'; the template requires '{value}'.");
            }
        }
    }

    /// <summary>
    /// What <c>image.*</c> shows: base attributes and the additional properties the caller may see.
    /// No <c>size</c>: Liquid reads <c>image.size</c> as the map's count.
    /// </summary>
    private static Dictionary<string, object?> ImageModel(ImageRecord image)
    {
        var model = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in image.Properties)
        {
            model[name] = value;
        }
        model["id"] = image.Id.ToString();
        model["name"] = image.Name;
        model["min_ram"] = image.MinRam;
        model["min_disk"] = image.MinDisk;
        model["disk_format"] = image.DiskFormat;
        model["container_format"] = image.ContainerFormat;
        model["tags"] = image.Tags.Select(t => (object?)t).ToList();
        return model;
    }
}
