using Glance.Api.Templates;

namespace Glance.Api.Extensions.ServerTemplates;

/// <summary>The server-templates extension's HTTP part: <c>/v2/templates</c> (<see cref="TemplatesApi"/>).</summary>
public sealed class ServerTemplatesApi : IExtensionApi
{
    public string Alias => "server-templates";

    public void MapApi(IEndpointRouteBuilder routes) => routes.MapTemplatesApi();
}
