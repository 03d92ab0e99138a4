namespace Glance.Grains.Images;

/// <summary>
/// Names of an image's bytes in the data store: <c>{image:N}-{writer:N}</c>, the writer being the
/// upload or import task that wrote them, so a blob's name tells whose it is (the full repair
/// pass finds bytes no image holds by it) and two writes never share a key.
/// </summary>
internal static class DataKeys
{
    /// <summary>The key of the bytes <paramref name="writer"/> (an upload or an import task) writes for <paramref name="image"/>.</summary>
    public static string For(Guid image, Guid writer) => $"{image:N}-{writer:N}";

    /// <summary>The image of <paramref name="key"/>; null for a name <see cref="For"/> did not make.</summary>
    public static Guid? ImageOf(string key) =>
        key.Length == 65 && key[32] == '-' && Guid.TryParseExact(key.AsSpan(0, 32), "N", out var image)
        && Guid.TryParseExact(key.AsSpan(33), "N", out _)
            ? image
            : null;
}
