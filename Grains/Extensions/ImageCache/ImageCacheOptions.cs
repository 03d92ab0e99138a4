using Glance.Grains.Hosting;
using Microsoft.Extensions.Options;

namespace Glance.Grains.Extensions.ImageCache;

/// <summary>
/// The image cache of one API node, bound from <c>Glance:Extensions:image-cache</c>:
/// <c>MaxSize</c> (bytes) and <c>Directory</c> (default <c>&lt;DataDirectory&gt;/image-cache</c>).
/// </summary>
public sealed class ImageCacheOptions
{
    /// <summary>The most bytes the cache holds; the least recently used entries go to make room.</summary>
    public long MaxSize { get; set; } = 10L << 30;

    /// <summary>Where the cache keeps its files; null: <c>image-cache</c> under the data directory.</summary>
    public string? Directory { get; set; }

    /// <summary>This node's name in <c>/v2/cache/nodes/{image_id}</c>; null: the machine name and the cache directory.</summary>
    public string? Node { get; set; }

    /// <summary>How often the node checks its entries against the images (a deleted one goes) and saves their hit counts.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The directory in use, for a host with <paramref name="host"/>'s data directory.</summary>
    public string DirectoryFor(GlanceOptions host) => Path.GetFullPath(Directory ?? Path.Combine(host.DataDirectory, "image-cache"));

    /// <summary>Why the settings cannot be used; null when they can.</summary>
    public string? Problem() =>
        MaxSize <= 0 ? "MaxSize must be a positive number of bytes"
        : Directory is { Length: 0 } ? "Directory must not be empty"
        : Node is { Length: 0 } ? "Node must not be empty"
        : SweepInterval <= TimeSpan.Zero ? "SweepInterval must be positive"
        : null;
}

/// <summary>Checks <see cref="ImageCacheOptions"/> at start-up.</summary>
internal sealed class ImageCacheOptionsValidator : IValidateOptions<ImageCacheOptions>
{
    public ValidateOptionsResult Validate(string? name, ImageCacheOptions options) =>
        options.Problem() is { } problem ? ValidateOptionsResult.Fail($"{GlanceExtensions.Section}:image-cache: {problem}") : ValidateOptionsResult.Success;
}
