using Glance.Grains.Extensions;

namespace Glance.Api.Extensions;

/// <summary>
/// The HTTP part of an extension (endpoints, middleware, API-node services), in the Api's
/// <c>Extensions/&lt;Name&gt;/</c> folder; it belongs to the <see cref="GlanceExtension"/> with the
/// same <see cref="Alias"/> and is installed only while that extension is enabled.
/// </summary>
public interface IExtensionApi
{
    /// <summary>The alias of the extension this is part of.</summary>
    string Alias { get; }

    /// <summary>Services only API nodes need.</summary>
    void AddApi(IHostApplicationBuilder builder, ExtensionSettings settings)
    {
    }

    /// <summary>Its routes.</summary>
    void MapApi(IEndpointRouteBuilder routes)
    {
    }
}
